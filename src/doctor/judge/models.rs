//! Judging each model the deployment calls: served in its region, usable by this account, and
//! not Legacy (its end of life named, from the catalog or from Bedrock).

use super::Verdict;
use crate::doctor::hints::{self, fill};
use marquee_core::model::catalog;

/// What Bedrock's control plane says about one model in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) enum ModelFacts {
    /// `GetFoundationModelAvailability` failed: why.
    Unreadable(String),
    Found {
        /// `GetFoundationModelAvailability`'s `regionAvailability`, `authorizationStatus`,
        /// `entitlementAvailability` and `agreementAvailability.status` (when given).
        region: String,
        authorization: String,
        entitlement: String,
        agreement: Option<String>,
        /// `GetFoundationModel`'s `modelLifecycle`: its status and end-of-life time (ISO
        /// 8601), or why it could not be read.
        lifecycle: Result<(String, Option<String>), String>,
    },
}

/// One model's check: served in its region, this account may use it, and it is not Legacy.
pub(in crate::doctor) fn model(facts: &ModelFacts, row: &catalog::Row, region: &str) -> Verdict {
    let model = row.bedrock_id.unwrap_or_default();
    let (available, authorization, entitlement, agreement, lifecycle) = match facts {
        ModelFacts::Unreadable(why) => {
            return Verdict::fail(
                format!("could not ask Bedrock about {model}: {why}"),
                fill(hints::MODEL_UNREADABLE, &[("region", region)]),
            );
        }
        ModelFacts::Found {
            region,
            authorization,
            entitlement,
            agreement,
            lifecycle,
        } => (region, authorization, entitlement, agreement, lifecycle),
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if available != "AVAILABLE" {
        problems.push(format!("Bedrock does not serve it in {region}"));
        fixes.push(hints::MODEL_REGION.to_owned());
    }
    let mut access = Vec::new();
    if authorization != "AUTHORIZED" {
        access.push("this account is not authorized to use it".to_owned());
    }
    if entitlement != "AVAILABLE" {
        access.push("the account has no entitlement to it".to_owned());
    }
    if let Some(agreement) = agreement.as_deref().filter(|a| *a != "AVAILABLE") {
        access.push(format!("its model agreement is {agreement}"));
    }
    if !access.is_empty() && problems.is_empty() {
        fixes.push(fill(hints::MODEL_ACCESS, &[("region", region)]));
    }
    problems.extend(access);
    // A Legacy model still answers today and stops at its end of life, so it fails here while
    // there is time.
    match lifecycle {
        Err(why) => {
            problems.push(format!("could not read its lifecycle: {why}"));
            fixes.push("let your credentials call bedrock:GetFoundationModel".to_owned());
        }
        Ok((status, api_eol)) => {
            if let Some((problem, fix)) = lifecycle_problem(row, status, api_eol.as_deref()) {
                problems.push(problem);
                fixes.push(fix);
            }
        }
    }
    if problems.is_empty() {
        Verdict::pass(format!("{model} is enabled and active"))
    } else {
        fixes.dedup();
        Verdict::fail(problems.join("; "), fixes.join("; "))
    }
}

/// What is wrong with a model Bedrock reports in lifecycle `status`, if anything: a Legacy (or
/// otherwise not Active) model fails, naming its end-of-life date — the catalog's, which cites
/// its source, else the one Bedrock gives (`api_eol`) — and what to choose instead.
fn lifecycle_problem(
    row: &catalog::Row,
    status: &str,
    api_eol: Option<&str>,
) -> Option<(String, String)> {
    if status == "ACTIVE" {
        return None;
    }
    let eol = match (row.lifecycle.end_of_life, api_eol) {
        (Some(date), _) => format!("end of life on {date} ({})", row.lifecycle.source),
        (None, Some(date)) => format!("end of life on {}", date.get(..10).unwrap_or(date)),
        (None, None) => "its end-of-life date is not published yet".to_owned(),
    };
    Some((
        format!("Bedrock marks it {status}: {eol}"),
        format!(
            "replace {} before then: choose one of {} for DefaultModel/AllowedModels and deploy again",
            row.display_name,
            catalog::replacements()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn available(lifecycle: Result<(String, Option<String>), String>) -> ModelFacts {
        ModelFacts::Found {
            region: "AVAILABLE".into(),
            authorization: "AUTHORIZED".into(),
            entitlement: "AVAILABLE".into(),
            agreement: Some("AVAILABLE".into()),
            lifecycle,
        }
    }

    fn active() -> Result<(String, Option<String>), String> {
        Ok(("ACTIVE".into(), None))
    }

    /// A model passes when Bedrock serves it in its region, this account may use it and it is
    /// Active; each way it can fail says why and what to do.
    #[test]
    fn a_model_is_served_enabled_and_active_or_its_check_says_why_not() {
        use marquee_core::model::ModelId;
        let core = ModelId::StableImageCore.row();
        let with = |f: fn(&mut ModelFacts)| {
            let mut facts = available(active());
            f(&mut facts);
            facts
        };
        let cases: Vec<(ModelFacts, &str, &str)> = vec![
            (available(active()), "is enabled and active", ""),
            (
                with(|f| {
                    if let ModelFacts::Found { authorization, .. } = f {
                        *authorization = "NOT_AUTHORIZED".into();
                    }
                }),
                "this account is not authorized to use it",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { entitlement, .. } = f {
                        *entitlement = "NOT_AVAILABLE".into();
                    }
                }),
                "the account has no entitlement to it",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { agreement, .. } = f {
                        *agreement = Some("PENDING".into());
                    }
                }),
                "its model agreement is PENDING",
                "Open in playground",
            ),
            (
                with(|f| {
                    if let ModelFacts::Found { region, .. } = f {
                        *region = "NOT_AVAILABLE".into();
                    }
                }),
                "Bedrock does not serve it in us-west-2",
                hints::MODEL_REGION,
            ),
            (
                available(Ok(("LEGACY".into(), Some("2027-06-30T00:00:00Z".into())))),
                "Bedrock marks it LEGACY: end of life on 2027-06-30",
                "sd3.5, core, ultra",
            ),
            (
                available(Err("AccessDeniedException".into())),
                "could not read its lifecycle: AccessDeniedException",
                "bedrock:GetFoundationModel",
            ),
            (
                ModelFacts::Unreadable("AccessDeniedException".into()),
                "could not ask Bedrock about stability.stable-image-core-v1:1: AccessDeniedException",
                "bedrock:GetFoundationModelAvailability",
            ),
        ];
        for (facts, detail, fix) in cases {
            let verdict = model(&facts, core, "us-west-2");
            assert_eq!(
                verdict.status == Status::Pass,
                fix.is_empty(),
                "{verdict:?}"
            );
            assert!(verdict.detail.contains(detail), "{detail}: {verdict:?}");
            assert!(verdict.fix.contains(fix), "{fix}: {verdict:?}");
            // The console's "Model access" page is retired (docs/INSTALL.md, section 2).
            assert!(!verdict.fix.contains("Model access"), "{verdict:?}");
            assert!(!verdict.fix.contains("<region>"), "{verdict:?}");
        }
    }

    /// A Legacy model fails with the end-of-life date from the catalog (with its source) when
    /// the catalog has one, else Bedrock's own date, and always names what to choose instead.
    #[test]
    fn a_legacy_model_fails_naming_its_end_of_life() {
        use marquee_core::model::ModelId;
        let nova = ModelId::NovaCanvas.row();
        let (problem, fix) =
            lifecycle_problem(nova, "LEGACY", Some("2027-01-01T00:00:00Z")).unwrap();
        assert!(
            problem.contains("LEGACY") && problem.contains("2026-09-30"),
            "{problem}"
        );
        assert!(problem.contains("model-lifecycle-legacy.html"), "{problem}");
        assert!(fix.contains("sd3.5, core, ultra"), "{fix}");
        let core = ModelId::StableImageCore.row();
        assert_eq!(lifecycle_problem(core, "ACTIVE", None), None);
        let (problem, _) = lifecycle_problem(core, "LEGACY", Some("2027-03-31T00:00:00Z")).unwrap();
        assert!(problem.contains("end of life on 2027-03-31"), "{problem}");
        let (problem, _) = lifecycle_problem(core, "LEGACY", None).unwrap();
        assert!(problem.contains("not published"), "{problem}");
    }
}
