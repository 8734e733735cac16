//! Metering ([`Metering`]): quota is reserved before a model is called, refunded when the
//! model made nothing Bedrock bills, and kept — with a line in the usage ledger — for every
//! poster charged. Also what `/poster usage` reports, read from the same counters.
//!
//! Every counter is one [`StateStore::add`]: an atomic conditional update that never passes its
//! limit, however many workers reserve at once, and takes refunds as negative amounts. A
//! reservation takes the requester's day, the channel's day and the workspace's month in turn;
//! when one refuses, the ones already taken are given back before the requester is told.
//!
//! | item | key (`pk` / `sk`) | expires |
//! |---|---|---|
//! | posters a person started today | `quota#user#<team>#<user>` / `<YYYY-MM-DD>` | two days after the day |
//! | posters a channel got today | `quota#channel#<team>#<channel>` / `<YYYY-MM-DD>` | two days after the day |
//! | the deployment's spend this month (µ$) | `quota#spend` / `<YYYY-MM>` | two days after the month |
//! | one charged poster or call | `ledger#<team>#<YYYY-MM>` / `<unix>#<job id>#<poster id>#<n>` (the job's n-th charge) | [`LEDGER_SECS`] after the month |
//!
//! The spend is one counter for the whole deployment, whoever asks: the AWS account pays for
//! every team that reaches the app (Slack Connect guests, Enterprise Grid workspaces) and for
//! the REST door alike. A REST caller's `<user>` is its IAM role without the session name
//! ([`counted_as`]), which the caller chooses.
//!
//! Days and months are UTC. Only metered models count ([`Limits::is_metered`]: a price above
//! zero); the offline model is free and unlimited unless an admin prices it.
//!
//! [`StateStore::add`]: marquee_core::state::StateStore::add
//! [`Limits::is_metered`]: marquee_core::quota::Limits::is_metered
//! [`counted_as`]: marquee_core::quota::counted_as

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use super::PipelineError;
use super::records::now;
use marquee_core::errors::ErrorChain;
use marquee_core::job::{Job, Requester};
use marquee_core::metrics::{Event, Limit, Metrics};
use marquee_core::model::Priced;
use marquee_core::quota::{COUNTER_GRACE_SECS, LimitKind, Limits, Periods, counted_as};
use marquee_core::slack::blocks::{self, Used};
use marquee_core::state::{Added, Claimant, Key, StateError, StateStore};

/// How long a ledger line is kept after its month ends: a year and a month, enough to
/// compare any month with the same month a year before.
const LEDGER_SECS: i64 = 396 * 24 * 3600;

fn team(requester: &Requester) -> &str {
    requester.team_id.as_deref().unwrap_or("-")
}

fn user_key(requester: &Requester, periods: &Periods) -> Key {
    Key::new(
        format!(
            "quota#user#{}#{}",
            team(requester),
            counted_as(&requester.user_id)
        ),
        periods.day.clone(),
    )
}

fn channel_key(requester: &Requester, channel: &str, periods: &Periods) -> Key {
    Key::new(
        format!("quota#channel#{}#{channel}", team(requester)),
        periods.day.clone(),
    )
}

/// The deployment's spend this month: one counter, whichever team or door asks.
fn spend_key(periods: &Periods) -> Key {
    Key::new("quota#spend", periods.month.clone())
}

/// A limit that would have been passed: nothing was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) kind: LimitKind,
    /// What the counter stood at.
    pub(super) used: i64,
    pub(super) limit: i64,
    /// What the request needed (posters, or micro-dollars for the budget).
    pub(super) asked: i64,
    /// When the counter's period ends.
    pub(super) resets_at: i64,
}

/// Quota held for posters about to be made, until each is charged or refunded.
#[derive(Debug)]
pub(super) struct Reservation {
    /// Each counter taken, what one poster added to it, and its expiry.
    taken: Vec<(Key, i64, i64)>,
    /// Posters reserved and neither charged nor refunded yet.
    open: i64,
    /// Charges made so far: the last part of each ledger line's key, so the calls one job
    /// pays for (a take's Outpaint calls, one per format) each keep their own line.
    charged: i64,
    /// What each call is billed as: a model, or one of Stability's image services.
    priced: Priced,
    price: i64,
    periods: Periods,
}

/// What a reservation found.
#[derive(Debug)]
pub(super) enum Reserved {
    /// The model is free here: nothing is counted.
    Free,
    Taken(Reservation),
    Refused(Refusal),
}

/// One line of the usage ledger.
#[derive(Debug, Serialize)]
struct LedgerLine<'a> {
    user: &'a str,
    channel: Option<&'a str>,
    /// The model (`sd35-large`) or image service (`search-replace`) billed.
    model: String,
    micros: i64,
    job: Uuid,
    poster: Uuid,
}

/// The ledger's name for what was billed: a model's wire name (`sd35-large`), or an image
/// service's short name (`search-replace`).
fn billed_name(priced: Priced) -> String {
    match priced {
        Priced::Model(model) => serde_json::to_value(model)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| model.to_string()),
        Priced::Service(service) => service.short_name().to_owned(),
    }
}

/// The `Model` dimension of what was billed: a model's or an image service's short name.
fn metric_name(priced: Priced) -> &'static str {
    match priced {
        Priced::Model(model) => model.short_name(),
        Priced::Service(service) => service.short_name(),
    }
}

/// The `Kind` dimension of a quota refusal.
fn limit_of(kind: LimitKind) -> Limit {
    match kind {
        LimitKind::User => Limit::User,
        LimitKind::Channel => Limit::Channel,
        LimitKind::Budget => Limit::Budget,
    }
}

/// Reservations, the ledger and usage, over the state store: who may make how many metered
/// posters, and what each costs. Cheap to clone: the store and the metrics sink are shared.
#[derive(Clone)]
pub struct Metering {
    state: Arc<dyn StateStore>,
    /// Who may make how many metered posters, and what each costs.
    limits: Limits,
    /// Where refusals and spend are counted.
    metrics: Metrics,
}

impl Metering {
    /// Meters against `limits`, counting into `metrics`, with the counters in `state`.
    pub(crate) fn new(state: Arc<dyn StateStore>, limits: Limits, metrics: Metrics) -> Self {
        Self {
            state,
            limits,
            metrics,
        }
    }

    pub(super) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub(super) fn set_metrics(&mut self, metrics: Metrics) {
        self.metrics = metrics;
    }

    /// The limits and prices posters are metered against.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Reserves `posters` calls billed as `priced` (a poster from a model, or one of
    /// Stability's image services) for `requester` against every limit, before any model is
    /// called. All or nothing: when a limit refuses, what was already taken is given back and
    /// the refusal says which limit it was.
    pub(super) async fn reserve(
        &self,
        requester: &Requester,
        priced: impl Into<Priced>,
        posters: i64,
    ) -> Result<Reserved, PipelineError> {
        self.reserve_within(requester, priced, posters, None, None)
            .await
    }

    /// [`Self::reserve`], with an installation's own daily limits per person and per channel
    /// (its brand kit), which only tighten the deployment's: the lower of the two holds.
    pub(super) async fn reserve_within(
        &self,
        requester: &Requester,
        priced: impl Into<Priced>,
        posters: i64,
        person_daily: Option<i64>,
        channel_daily: Option<i64>,
    ) -> Result<Reserved, PipelineError> {
        let lower = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let user_daily = lower(self.limits.user_daily, person_daily);
        let channel_daily = lower(self.limits.channel_daily, channel_daily);
        let priced = priced.into();
        let price = self.limits.price_of(priced);
        if posters <= 0 || price <= 0 {
            return Ok(Reserved::Free);
        }
        let now = now();
        let periods = Periods::at(now);
        let day_expiry = periods.day_ends + COUNTER_GRACE_SECS;
        let month_expiry = periods.month_ends + COUNTER_GRACE_SECS;
        let mut wanted = vec![(
            LimitKind::User,
            user_key(requester, &periods),
            1,
            user_daily,
            day_expiry,
            periods.day_ends,
        )];
        if let Some(channel) = &requester.channel_id {
            wanted.push((
                LimitKind::Channel,
                channel_key(requester, channel, &periods),
                1,
                channel_daily,
                day_expiry,
                periods.day_ends,
            ));
        }
        wanted.push((
            LimitKind::Budget,
            spend_key(&periods),
            price,
            self.limits.monthly_budget_micros,
            month_expiry,
            periods.month_ends,
        ));

        let mut reservation = Reservation {
            taken: Vec::with_capacity(wanted.len()),
            open: posters,
            charged: 0,
            priced,
            price,
            periods,
        };
        for (kind, key, each, limit, expires_at, resets_at) in wanted {
            let asked = each.saturating_mul(posters);
            let added = self
                .state
                .add(&key, asked, limit, &Claimant::new(), Some(expires_at), now)
                .await;
            match added {
                Ok(Added::To(_)) => reservation.taken.push((key, each, expires_at)),
                Ok(Added::Refused(used)) => {
                    self.metrics.record(Event::QuotaRefusal(limit_of(kind)));
                    self.refund(&mut reservation, posters).await;
                    return Ok(Reserved::Refused(Refusal {
                        kind,
                        used,
                        limit: limit.unwrap_or_default(),
                        asked,
                        resets_at,
                    }));
                }
                Err(e) => {
                    self.refund(&mut reservation, posters).await;
                    return Err(e.into());
                }
            }
        }
        Ok(Reserved::Taken(reservation))
    }

    /// Gives back up to `posters` of what `reservation` still holds. Refunds are never
    /// refused; one that fails is logged and leaves the count high until its period ends,
    /// which errs towards spending less, never more.
    pub(super) async fn refund(&self, reservation: &mut Reservation, posters: i64) {
        let n = posters.min(reservation.open);
        if n <= 0 {
            return;
        }
        reservation.open -= n;
        let now = now();
        for (key, each, expires_at) in &reservation.taken {
            if let Err(e) = self
                .state
                .add(
                    key,
                    -each.saturating_mul(n),
                    None,
                    &Claimant::new(),
                    Some(*expires_at),
                    now,
                )
                .await
            {
                tracing::error!(pk = %key.pk, error = %ErrorChain(&e), "could not refund a quota reservation; the count stays high until its period ends");
            }
        }
    }

    /// Charges one poster of `reservation` for good, and writes its ledger line.
    pub(super) async fn charge(&self, reservation: &mut Reservation, job: &Job, poster: Uuid) {
        if reservation.open <= 0 {
            return;
        }
        reservation.open -= 1;
        reservation.charged += 1;
        // The counters hold the charge from here, whether or not the ledger line is written.
        self.metrics.record(Event::Spend {
            model: metric_name(reservation.priced),
            micros: reservation.price,
        });
        let now = now();
        let requester = &job.requester;
        let line = LedgerLine {
            user: &requester.user_id,
            channel: requester.channel_id.as_deref(),
            model: billed_name(reservation.priced),
            micros: reservation.price,
            job: job.id,
            poster,
        };
        let key = Key::new(
            format!("ledger#{}#{}", team(requester), reservation.periods.month),
            format!("{now:012}#{}#{poster}#{}", job.id, reservation.charged),
        );
        let written = match serde_json::to_string(&line) {
            Ok(value) => self
                .state
                .put(
                    &key,
                    value,
                    Some(reservation.periods.month_ends + LEDGER_SECS),
                )
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
            Err(e) => Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
        };
        match written {
            // The counters already hold the charge; the ledger is the itemised record of it.
            Ok(()) => {
                tracing::info!(%poster, billed = %reservation.priced, micros = reservation.price, "poster charged")
            }
            Err(e) => {
                tracing::error!(%poster, error = %ErrorChain(e.as_ref()), "poster charged, but its ledger line could not be written")
            }
        }
    }

    /// What `/poster usage` shows `requester`: their posters today, the channel's, and the
    /// deployment's spend this month, each against its limit, read from the same counters the
    /// reservations take; `free_models` are the models that cost nothing here.
    pub(super) async fn usage(
        &self,
        requester: &Requester,
        free_models: Vec<marquee_core::model::ModelId>,
    ) -> Result<blocks::UsageReport, StateError> {
        let now = now();
        let periods = Periods::at(now);
        let count = |key: Key| async move {
            Ok::<i64, StateError>(self.state.get(&key, now).await?.map_or(0, |i| i.count))
        };
        let user = count(user_key(requester, &periods)).await?;
        let channel = match &requester.channel_id {
            Some(c) => Some(count(channel_key(requester, c, &periods)).await?),
            None => None,
        };
        let spend = count(spend_key(&periods)).await?;
        Ok(blocks::UsageReport {
            user: Used {
                used: user,
                limit: self.limits.user_daily,
            },
            channel: channel.map(|used| Used {
                used,
                limit: self.limits.channel_daily,
            }),
            spend: Used {
                used: spend,
                limit: self.limits.monthly_budget_micros,
            },
            day_ends: periods.day_ends,
            month_ends: periods.month_ends,
            free_models,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use marquee_core::model::ModelId;
    use marquee_core::state::local::LocalState;

    /// Metering over the local state store alone, in `dir`.
    fn metering(dir: &std::path::Path, limits: Limits) -> (Metering, Arc<dyn StateStore>) {
        let state: Arc<dyn StateStore> =
            Arc::new(LocalState::open(dir.join("state.sqlite3")).unwrap());
        (Metering::new(state.clone(), limits, Metrics::off()), state)
    }

    fn requester(user: &str, channel: &str) -> Requester {
        Requester {
            user_id: user.into(),
            user_name: None,
            team_id: Some("T1".into()),
            channel_id: Some(channel.into()),
            ..Requester::default()
        }
    }

    async fn count(state: &dyn StateStore, key: Key) -> i64 {
        state.get(&key, now()).await.unwrap().map_or(0, |i| i.count)
    }

    fn taken(r: Result<Reserved, PipelineError>) -> Reservation {
        match r.unwrap() {
            Reserved::Taken(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn refused(r: Result<Reserved, PipelineError>) -> Refusal {
        match r.unwrap() {
            Reserved::Refused(r) => r,
            other => panic!("{other:?}"),
        }
    }

    /// A reservation takes every counter; a refund gives it all back; a charge keeps it.
    #[tokio::test]
    async fn reservations_are_refunded_or_charged_whole() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            user_daily: Some(3),
            ..Limits::default()
        };
        let (p, state) = metering(dir.path(), limits);
        let ada = requester("U1", "C1");
        let periods = Periods::at(now());

        let mut r = taken(p.reserve(&ada, ModelId::Sd35Large, 2).await);
        assert_eq!(count(state.as_ref(), user_key(&ada, &periods)).await, 2);
        assert_eq!(
            count(state.as_ref(), channel_key(&ada, "C1", &periods)).await,
            2
        );
        assert_eq!(count(state.as_ref(), spend_key(&periods)).await, 160_000);
        let mut job = marquee_core::job::sample_job();
        job.requester = ada.clone();
        p.charge(&mut r, &job, Uuid::new_v4()).await;
        p.refund(&mut r, 5).await; // more than is left: only the open one goes back
        assert_eq!(count(state.as_ref(), user_key(&ada, &periods)).await, 1);
        assert_eq!(count(state.as_ref(), spend_key(&periods)).await, 80_000);
        // The charged poster has its ledger line.
        let ledger = state
            .query_latest(&format!("ledger#T1#{}", periods.month), 10, now())
            .await
            .unwrap();
        assert_eq!(ledger.len(), 1);
        let line: serde_json::Value = serde_json::from_str(&ledger[0].value).unwrap();
        assert_eq!(line["micros"], 80_000);
        assert_eq!(line["model"], "sd35-large");
        assert_eq!(line["user"], "U1");
        assert_eq!(line["channel"], "C1");

        // Free models count nothing.
        assert!(matches!(
            p.reserve(&ada, ModelId::Offline, 1).await.unwrap(),
            Reserved::Free
        ));
    }

    /// One job that pays for several calls on one poster (Formats…: an Outpaint call per
    /// format) leaves a ledger line per call, even when they are all charged in one second.
    #[tokio::test]
    async fn every_call_a_job_pays_for_has_its_own_ledger_line() {
        let dir = tempfile::tempdir().unwrap();
        let (p, state) = metering(dir.path(), Limits::default());
        let ada = requester("U1", "C1");
        let periods = Periods::at(now());
        let outpaint = Priced::Service(marquee_core::model::Service::Outpaint);
        let mut r = taken(p.reserve(&ada, outpaint, 5).await);
        let mut job = marquee_core::job::sample_job();
        job.requester = ada.clone();
        let poster = Uuid::new_v4();
        for _ in 0..5 {
            p.charge(&mut r, &job, poster).await;
        }
        let ledger = state
            .query_latest(&format!("ledger#T1#{}", periods.month), 10, now())
            .await
            .unwrap();
        assert_eq!(ledger.len(), 5, "{ledger:?}");
        let price = Limits::default().price_of(outpaint);
        assert!(price > 0);
        for item in &ledger {
            let line: serde_json::Value = serde_json::from_str(&item.value).unwrap();
            assert_eq!(line["model"], "outpaint");
            assert_eq!(line["poster"], poster.to_string());
            assert_eq!(line["micros"], price);
        }
        assert_eq!(count(state.as_ref(), spend_key(&periods)).await, 5 * price);
    }

    /// When a later counter refuses, the earlier ones are given back and the refusal names
    /// the limit, what it stands at and when it resets.
    #[tokio::test]
    async fn a_refusal_takes_nothing_and_says_which_limit() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            user_daily: Some(10),
            channel_daily: Some(10),
            monthly_budget_micros: Some(200_000),
            ..Limits::default()
        };
        let (p, state) = metering(dir.path(), limits);
        let ada = requester("U1", "C1");
        let periods = Periods::at(now());
        taken(p.reserve(&ada, ModelId::Sd35Large, 2).await);
        let no = refused(p.reserve(&ada, ModelId::Sd35Large, 1).await);
        assert_eq!(no.kind, LimitKind::Budget);
        assert_eq!((no.used, no.limit, no.asked), (160_000, 200_000, 80_000));
        assert_eq!(no.resets_at, periods.month_ends);
        assert_eq!(count(state.as_ref(), user_key(&ada, &periods)).await, 2);
        assert_eq!(
            count(state.as_ref(), channel_key(&ada, "C1", &periods)).await,
            2
        );
        // A cheaper model still fits what is left of the budget.
        taken(p.reserve(&ada, ModelId::StableImageCore, 1).await);
    }

    /// The reproduction (#22, item 6): with a $1 ceiling and $1 posters, a poster
    /// for T1 takes the month's whole budget, so one for T2 (a Slack Connect guest's
    /// organisation, or another Enterprise Grid workspace) and one from the REST door are
    /// refused — one counter for the deployment, not one per team.
    #[tokio::test]
    async fn one_ceiling_for_every_team_and_the_rest_door() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            monthly_budget_micros: Some(1_000_000),
            prices: [(ModelId::Sd35Large, 1_000_000)].into(),
            ..Limits::default()
        };
        let (p, state) = metering(dir.path(), limits);
        let t1 = requester("U1", "C1");
        let t2 = Requester {
            team_id: Some("T2".into()),
            ..requester("U2", "C1")
        };
        let rest = Requester {
            user_id: "arn:aws:sts::123456789012:assumed-role/poster-bot/s1".into(),
            user_name: None,
            team_id: None,
            channel_id: None,
            ..Requester::default()
        };
        taken(p.reserve(&t1, ModelId::Sd35Large, 1).await);
        for (who, name) in [(&t2, "T2"), (&rest, "REST")] {
            let no = refused(p.reserve(who, ModelId::Sd35Large, 1).await);
            assert_eq!(no.kind, LimitKind::Budget, "{name}");
            assert_eq!((no.used, no.limit), (1_000_000, 1_000_000), "{name}");
        }
        let periods = Periods::at(now());
        assert_eq!(count(state.as_ref(), spend_key(&periods)).await, 1_000_000);
    }

    /// A REST caller's daily count is its role's, whatever session name it assumed the role
    /// with: a new session is not a new allowance.
    #[tokio::test]
    async fn a_new_role_session_is_the_same_rest_caller() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            user_daily: Some(1),
            ..Limits::default()
        };
        let (p, _) = metering(dir.path(), limits);
        let session = |name: &str| Requester {
            user_id: format!("arn:aws:sts::123456789012:assumed-role/poster-bot/{name}"),
            user_name: None,
            team_id: None,
            channel_id: None,
            ..Requester::default()
        };
        taken(p.reserve(&session("first"), ModelId::Sd35Large, 1).await);
        let no = refused(p.reserve(&session("second"), ModelId::Sd35Large, 1).await);
        assert_eq!(no.kind, LimitKind::User);
        // Another role is another caller.
        let other = Requester {
            user_id: "arn:aws:sts::123456789012:assumed-role/other-bot/first".into(),
            ..session("x")
        };
        taken(p.reserve(&other, ModelId::Sd35Large, 1).await);
    }

    /// A refusal is counted by its limit, and a charge as its estimated spend by model; a
    /// reservation or a refund alone counts nothing.
    #[tokio::test]
    async fn refusals_and_charges_are_counted() {
        use marquee_core::metrics::{Metric, Metrics};
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            user_daily: Some(1),
            ..Limits::default()
        };
        let (metrics, recorded) = Metrics::recorded();
        let (mut p, _) = metering(dir.path(), limits);
        p.set_metrics(metrics);
        let ada = requester("U1", "C1");
        let mut r = taken(p.reserve(&ada, ModelId::Sd35Large, 1).await);
        assert!(recorded.documents().is_empty());
        refused(p.reserve(&ada, ModelId::Sd35Large, 1).await);
        let refusals = recorded.of(Metric::QuotaRefusal);
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0]["Kind"], "user");
        assert_eq!(refusals[0]["QuotaRefusal"], 1);

        let mut job = marquee_core::job::sample_job();
        job.requester = ada;
        p.charge(&mut r, &job, Uuid::new_v4()).await;
        p.charge(&mut r, &job, Uuid::new_v4()).await; // nothing left open: no second charge
        let spend = recorded.of(Metric::EstimatedSpend);
        assert_eq!(spend.len(), 1);
        assert_eq!(spend[0]["EstimatedSpend"], 80_000);
        assert_eq!(spend[0]["Model"], "sd3.5");
        assert_eq!(spend[0]["Function"], "f");
    }

    /// A brand kit's daily limits only tighten the deployment's: the lower of the two holds,
    /// per person and per channel, and a kit without limits leaves the deployment's.
    #[tokio::test]
    async fn a_kits_daily_limits_tighten_the_deployments_and_never_loosen_them() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            user_daily: Some(3),
            ..Limits::default()
        };
        let (p, _) = metering(dir.path(), limits);
        let taken = |r: Reserved| matches!(r, Reserved::Taken(_));
        // The kit allows a person 2 a day, below the deployment's 3.
        let ada = requester("U07ADA", "C1");
        for _ in 0..2 {
            let r = p.reserve_within(&ada, ModelId::NovaCanvas, 1, Some(2), None);
            assert!(taken(r.await.unwrap()));
        }
        match p
            .reserve_within(&ada, ModelId::NovaCanvas, 1, Some(2), None)
            .await
            .unwrap()
        {
            Reserved::Refused(r) => assert_eq!((r.kind, r.limit), (LimitKind::User, 2)),
            _ => panic!("the kit's 2 a day holds"),
        }
        // A kit allowing 10 does not lift the deployment's 3.
        let bo = requester("U07BO", "C2");
        for _ in 0..3 {
            let r = p.reserve_within(&bo, ModelId::NovaCanvas, 1, Some(10), None);
            assert!(taken(r.await.unwrap()));
        }
        let r = p.reserve_within(&bo, ModelId::NovaCanvas, 1, Some(10), None);
        assert!(matches!(r.await.unwrap(), Reserved::Refused(_)));
        // A channel limit from the kit alone, where the deployment sets none.
        let cy = requester("U07CY", "C3");
        let r = p.reserve_within(&cy, ModelId::NovaCanvas, 1, None, Some(1));
        assert!(taken(r.await.unwrap()));
        let dee = requester("U07DEE", "C3");
        match p
            .reserve_within(&dee, ModelId::NovaCanvas, 1, None, Some(1))
            .await
            .unwrap()
        {
            Reserved::Refused(r) => assert_eq!(r.kind, LimitKind::Channel),
            _ => panic!("the kit's channel limit holds"),
        }
    }

    /// Fifty workers reserving at once for one channel: exactly the limit get through, and
    /// the refused ones leave no trace on the other counters.
    #[tokio::test]
    async fn a_burst_of_fifty_never_passes_a_limit_of_seven() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            channel_daily: Some(7),
            ..Limits::default()
        };
        let (p, state) = metering(dir.path(), limits);
        let p = Arc::new(p);
        let mut tasks = Vec::new();
        for i in 0..50 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                let who = requester(&format!("U{i}"), "C7");
                match p.reserve(&who, ModelId::NovaCanvas, 1).await.unwrap() {
                    Reserved::Taken(_) => true,
                    Reserved::Refused(r) => {
                        assert_eq!(r.kind, LimitKind::Channel);
                        false
                    }
                    Reserved::Free => panic!("nova is metered"),
                }
            }));
        }
        let mut granted = 0;
        for t in tasks {
            if t.await.unwrap() {
                granted += 1;
            }
        }
        assert_eq!(granted, 7);
        let periods = Periods::at(now());
        let anyone = requester("U0", "C7");
        assert_eq!(
            count(state.as_ref(), channel_key(&anyone, "C7", &periods)).await,
            7
        );
        assert_eq!(
            count(state.as_ref(), spend_key(&periods)).await,
            7 * 40_000,
            "refused reservations were refunded from the spend"
        );
        let mut users = 0;
        for i in 0..50 {
            users += count(
                state.as_ref(),
                user_key(&requester(&format!("U{i}"), "C7"), &periods),
            )
            .await;
        }
        assert_eq!(users, 7);
    }

    /// Counters live in their period: a new UTC day starts from zero, while a reservation
    /// refunds into the day it was taken in.
    #[tokio::test]
    async fn counts_reset_with_their_period() {
        let dir = tempfile::tempdir().unwrap();
        let state: Arc<dyn StateStore> =
            Arc::new(LocalState::open(dir.path().join("state.sqlite3")).unwrap());
        let ada = requester("U1", "C1");
        let today = Periods::at(1_798_761_599); // 2026-12-31T23:59:59Z
        let tomorrow = Periods::at(1_798_761_600);
        let expiry = today.day_ends + COUNTER_GRACE_SECS;
        let add = |key: Key, at: i64| {
            let state = state.clone();
            async move {
                state
                    .add(&key, 1, Some(1), &Claimant::new(), Some(expiry), at)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            add(user_key(&ada, &today), 1_798_761_599).await,
            Added::To(1)
        );
        assert_eq!(
            add(user_key(&ada, &today), 1_798_761_599).await,
            Added::Refused(1)
        );
        // After midnight the day's key is another item, which starts from zero.
        assert_ne!(user_key(&ada, &today), user_key(&ada, &tomorrow));
        assert_eq!(
            add(user_key(&ada, &tomorrow), 1_798_761_600).await,
            Added::To(1)
        );
        // The old day's counter is still there for a late refund, then expires.
        assert_eq!(
            state
                .get(&user_key(&ada, &today), 1_798_761_600 + 3600)
                .await
                .unwrap()
                .map(|i| i.count),
            Some(1)
        );
        assert!(
            state
                .get(&user_key(&ada, &today), expiry)
                .await
                .unwrap()
                .is_none()
        );
    }
}
