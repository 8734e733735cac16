//! Quotas: what a deployment lets its people make and spend, in words every layer shares.
//!
//! [`Limits`] is the admin's choice (posters per person and per channel per UTC day, a spend
//! ceiling per calendar month in US dollars, and a price per model); [`Periods`] names the day
//! and month a moment falls in and when each ends; [`usd`] writes money for people. Money is
//! kept in whole micro-dollars (US$ 1 = 1,000,000) from configuration to the ledger, never in
//! floating point. [`counted_as`] names the person a REST caller's daily count is kept for.
//!
//! The spend ceiling is one for the whole deployment: one AWS account pays for every team that
//! can reach the app — the installing workspace, Slack Connect guests' organisations,
//! Enterprise Grid workspaces — and for the REST door, so a per-team ceiling would multiply the
//! admin's budget by the number of teams.
//!
//! This module counts nothing: the pipeline keeps the counters in the state store. It knows
//! models by name and price only, nothing of Slack, storage or the counters themselves.

use std::collections::BTreeMap;

use time::{Date, Month, OffsetDateTime, Time};

use crate::model::{ModelId, Priced, Service};

/// How long a counter outlives its period, so a refund that lands just after midnight (or
/// the first of the month) still finds the item it reserved on.
pub const COUNTER_GRACE_SECS: i64 = 2 * 24 * 3600;

/// The admin's limits and prices. `None` is unlimited; a model without a price of its own
/// costs its list price ([`ModelId::list_price_micros`]).
///
/// A poster is *metered* — counted against every limit and its price added to the month's
/// spend — when its model's price is above zero. The offline model is free by default, so
/// it is neither counted nor limited; an admin who prices it (`offline=0.001`) meters it like
/// any other model, and a Bedrock model priced at 0 becomes free and unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Metered posters one person may start per UTC day.
    pub user_daily: Option<i64>,
    /// Metered posters one channel may get per UTC day.
    pub channel_daily: Option<i64>,
    /// The deployment's spend ceiling per calendar month (UTC), in micro-dollars: one counter
    /// for every team and the REST door together.
    pub monthly_budget_micros: Option<i64>,
    /// Prices per poster (and per call of one of Stability's image services) in micro-dollars,
    /// overriding the list prices.
    pub prices: Prices,
}

/// Configured prices in micro-dollars: per model, and per image service. Built from model
/// pairs like the map it replaced (`[(ModelId::NovaCanvas, 45_000)].into()`), with service
/// prices added by [`Prices::with_service`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices {
    models: BTreeMap<ModelId, i64>,
    services: BTreeMap<Service, i64>,
}

impl Prices {
    /// The configured price of `model`, if any.
    pub fn get(&self, model: &ModelId) -> Option<&i64> {
        self.models.get(model)
    }

    /// Sets `model`'s price, returning the one it replaces.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, model: ModelId, micros: i64) -> Option<i64> {
        self.models.insert(model, micros)
    }

    /// These prices with `service` priced at `micros`.
    pub fn with_service(mut self, service: Service, micros: i64) -> Self {
        self.services.insert(service, micros);
        self
    }

    /// The configured price of `service`, if any.
    pub(crate) fn service(&self, service: Service) -> Option<i64> {
        self.services.get(&service).copied()
    }

    /// Whether no price is configured at all.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.models.is_empty() && self.services.is_empty()
    }
}

impl From<BTreeMap<ModelId, i64>> for Prices {
    fn from(models: BTreeMap<ModelId, i64>) -> Self {
        Prices {
            models,
            services: BTreeMap::new(),
        }
    }
}

impl<const N: usize> From<[(ModelId, i64); N]> for Prices {
    fn from(pairs: [(ModelId, i64); N]) -> Self {
        BTreeMap::from(pairs).into()
    }
}

impl Limits {
    /// What one poster from `model` costs, in micro-dollars.
    pub(crate) fn price_micros(&self, model: ModelId) -> i64 {
        self.price_of(Priced::Model(model))
    }

    /// What one call billed as `priced` costs, in micro-dollars: the configured price, else
    /// the list price ([`ModelId::list_price_micros`], [`Service::list_price_micros`]).
    pub fn price_of(&self, priced: Priced) -> i64 {
        match priced {
            Priced::Model(model) => self
                .prices
                .get(&model)
                .copied()
                .unwrap_or_else(|| model.list_price_micros()),
            Priced::Service(service) => self
                .prices
                .service(service)
                .unwrap_or_else(|| service.list_price_micros()),
        }
    }

    /// Whether posters from `model` are counted and charged.
    pub fn is_metered(&self, model: ModelId) -> bool {
        self.price_micros(model) > 0
    }

    /// Whether any limit is set at all.
    pub(crate) fn any(&self) -> bool {
        self.user_daily.is_some()
            || self.channel_daily.is_some()
            || self.monthly_budget_micros.is_some()
    }
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// The requester's posters today.
    User,
    /// The channel's posters today.
    Channel,
    /// The deployment's spend this month (every team and the REST door).
    Budget,
}

/// The UTC day and calendar month a moment falls in: the periods quotas count over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Unix seconds when the next day starts (when daily counts reset).
    pub day_ends: i64,
    /// Unix seconds when the next month starts (when the spend resets).
    pub month_ends: i64,
}

impl Periods {
    /// The periods `now` (Unix seconds) falls in.
    pub fn at(now: i64) -> Periods {
        let date = OffsetDateTime::from_unix_timestamp(now)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .date();
        let midnight = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
        let next_day = date.next_day().unwrap_or(date);
        let (year, month) = match date.month() {
            Month::December => (date.year() + 1, Month::January),
            m => (date.year(), m.next()),
        };
        let next_month = Date::from_calendar_date(year, month, 1).unwrap_or(next_day);
        Periods {
            day: format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
            month: format!("{:04}-{:02}", date.year(), u8::from(date.month())),
            day_ends: midnight(next_day),
            month_ends: midnight(next_month),
        }
    }
}

/// Who a daily count is kept for, given a requester's id: a Slack user id as it is, and an IAM
/// role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, the ARN format of AWS's IAM
/// User Guide, "IAM identifiers", `reference_identifiers.html`) as its role
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE`). The session name is the caller's to choose with
/// every `AssumeRole`, so counting per session would give anyone who may assume the role a new
/// daily allowance per call. Role paths do not appear in an assumed-role ARN, so the role name
/// is the segment after `assumed-role/`.
pub fn counted_as(id: &str) -> &str {
    let Some(rest) = id.strip_prefix("arn:") else {
        return id;
    };
    // arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION
    let mut fields = rest.splitn(5, ':');
    let (Some(_partition), Some("sts"), Some(""), Some(_account), Some(resource)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return id;
    };
    let Some(role_and_session) = resource.strip_prefix("assumed-role/") else {
        return id;
    };
    match role_and_session.split_once('/') {
        Some((role, _session)) if !role.is_empty() => {
            &id[..id.len() - role_and_session.len() + role.len()]
        }
        _ => id,
    }
}

/// Micro-dollars as people write dollars: `$0.08`, `$12.50`, and sub-cent prices in full
/// (`$0.0025`).
pub(crate) fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    let dollars = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let cents = if fraction % 10_000 == 0 {
        format!("{:02}", fraction / 10_000)
    } else {
        format!("{fraction:06}").trim_end_matches('0').to_owned()
    };
    format!("{sign}${dollars}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_days_and_calendar_months() {
        // 2026-12-31T23:59:59Z: the last second of a day, a month and a year.
        let p = Periods::at(1_798_761_599);
        assert_eq!(p.day, "2026-12-31");
        assert_eq!(p.month, "2026-12");
        assert_eq!(p.day_ends, 1_798_761_600);
        assert_eq!(p.month_ends, 1_798_761_600);
        // One second later everything has reset.
        let q = Periods::at(1_798_761_600);
        assert_eq!(
            (q.day.as_str(), q.month.as_str()),
            ("2027-01-01", "2027-01")
        );
        assert_eq!(q.day_ends, 1_798_761_600 + 86_400);
        // February of a leap year ends on the 29th.
        let leap = Periods::at(1_835_308_800); // 2028-02-28T00:00:00Z
        assert_eq!(leap.day, "2028-02-28");
        assert_eq!(leap.month_ends, 1_835_308_800 + 2 * 86_400);
    }

    #[test]
    fn a_role_session_is_counted_as_its_role() {
        // The forms of IAM's "IAM identifiers" page (reference_identifiers.html).
        assert_eq!(
            counted_as("arn:aws:sts::123456789012:assumed-role/poster-bot/session-1"),
            "arn:aws:sts::123456789012:assumed-role/poster-bot"
        );
        assert_eq!(
            counted_as("arn:aws:sts::123456789012:assumed-role/poster-bot/another-session"),
            counted_as("arn:aws:sts::123456789012:assumed-role/poster-bot/session-1"),
            "a new session name is the same caller"
        );
        // Other partitions have the same shape.
        assert_eq!(
            counted_as("arn:aws-cn:sts::123456789012:assumed-role/r/s"),
            "arn:aws-cn:sts::123456789012:assumed-role/r"
        );
        // An IAM user, a federated user, a Slack user and anything odd stay as they are.
        for id in [
            "arn:aws:iam::123456789012:user/ada",
            "arn:aws:sts::123456789012:federated-user/ada",
            "arn:aws:sts::123456789012:assumed-role/no-session",
            "arn:aws:sts::123456789012:assumed-role//s",
            "arn:aws:iam::123456789012:role/assumed-role/x/y",
            "U07ADAPARK",
            "local",
        ] {
            assert_eq!(counted_as(id), id);
        }
    }

    #[test]
    fn money_is_written_as_people_write_it() {
        assert_eq!(usd(80_000), "$0.08");
        assert_eq!(usd(12_500_000), "$12.50");
        assert_eq!(usd(0), "$0.00");
        assert_eq!(usd(2_500), "$0.0025");
        assert_eq!(usd(1), "$0.000001");
        assert_eq!(usd(-40_000), "-$0.04");
    }

    #[test]
    fn the_offline_model_is_free_until_an_admin_prices_it() {
        let mut limits = Limits::default();
        assert!(!limits.is_metered(ModelId::Offline));
        assert!(limits.is_metered(ModelId::Sd35Large));
        assert_eq!(limits.price_micros(ModelId::Sd35Large), 80_000);
        limits.prices.insert(ModelId::Offline, 1_000);
        limits.prices.insert(ModelId::NovaCanvas, 0);
        assert!(limits.is_metered(ModelId::Offline));
        assert!(!limits.is_metered(ModelId::NovaCanvas));
        assert!(!limits.any());
    }

    #[test]
    fn edits_are_priced_as_what_makes_them() {
        let limits = Limits {
            prices: Prices::from([(ModelId::Sd35Large, 70_000)])
                .with_service(Service::CreativeUpscale, 500_000),
            ..Limits::default()
        };
        assert_eq!(limits.price_of(Priced::Model(ModelId::Sd35Large)), 70_000);
        assert_eq!(limits.price_of(Priced::Model(ModelId::NovaCanvas)), 40_000);
        assert_eq!(
            limits.price_of(Priced::Service(Service::CreativeUpscale)),
            500_000
        );
        assert_eq!(
            limits.price_of(Priced::Service(Service::SearchReplace)),
            Service::SearchReplace.list_price_micros()
        );
        assert_eq!(limits.price_micros(ModelId::Sd35Large), 70_000);
        assert!(!limits.prices.is_empty());
        assert!(Prices::default().is_empty());
    }
}
