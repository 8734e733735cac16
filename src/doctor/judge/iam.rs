//! What the role must be allowed, derived from the configuration and the code's own lists
//! ([`needed`]), and judging what IAM's policy simulator answered for it.

use std::collections::BTreeMap;

use super::{FunctionFacts, Verdict};
use crate::doctor::CheckId;
use crate::doctor::hints;
use marquee_core::model::Service;
use marquee_service::config::{Config, SecretSource, StateConfig, StoreConfig};

/// A key under each storage prefix that no poster will ever have, for the IAM simulation.
const PROBE_NAME: &str = "marquee-doctor-probe";

/// One group of permissions: the actions needed on each resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) struct Needs {
    pub(in crate::doctor) check: CheckId,
    pub(in crate::doctor) what: String,
    pub(in crate::doctor) pairs: Vec<(String, Vec<String>)>,
    /// Why there is nothing to check, when `pairs` is empty.
    pub(in crate::doctor) absent: &'static str,
}

/// One decision of IAM's policy simulator that was not `allowed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::doctor) struct Denial {
    pub(in crate::doctor) action: String,
    pub(in crate::doctor) resource: String,
    /// `implicitDeny` or `explicitDeny`.
    pub(in crate::doctor) decision: String,
}

/// One permission group's check: every action allowed on every resource (`denied`: what the
/// simulator refused, or why it could not simulate).
pub(in crate::doctor) fn permissions(
    needs: &Needs,
    denied: &Result<Vec<Denial>, String>,
) -> Verdict {
    if needs.pairs.is_empty() {
        return Verdict::skip(needs.absent);
    }
    let count: usize = needs.pairs.iter().map(|(_, a)| a.len()).sum();
    match denied {
        Err(why) => Verdict::fail(
            format!("could not simulate the role's policy: {why}"),
            hints::IAM_SIMULATE.to_owned(),
        ),
        Ok(denied) if denied.is_empty() => {
            Verdict::pass(format!("{count} action(s) allowed: {}", needs.what))
        }
        Ok(denied) => Verdict::fail(
            format!(
                "the role may not: {}",
                denied
                    .iter()
                    .map(|d| format!("{} on {} ({})", d.action, d.resource, d.decision))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            hints::IAM_DENIED.to_owned(),
        ),
    }
}

/// What the code does with AWS, as (resource, actions) per group, for this configuration:
/// `function` is the deployed function, `destination` its on-failure destination.
pub(in crate::doctor) fn needed(
    config: &Config,
    outputs: &BTreeMap<String, String>,
    function: &FunctionFacts,
    destination: Option<&str>,
) -> Vec<Needs> {
    let (partition, region, account) = function.arn_parts();
    let worker = match &config.worker_function {
        Some(name) if name.starts_with("arn:") => name.clone(),
        Some(name) => format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
        None => function.arn.clone(),
    };
    let invoke = Needs {
        check: CheckId::IamInvoke,
        what: "lambda:InvokeFunction on the worker".into(),
        absent: "",
        pairs: vec![(worker, vec!["lambda:InvokeFunction".into()])],
    };

    let mut models = Vec::new();
    for (id, model_region) in &config.model_regions {
        if let Some(model) = id.bedrock_id() {
            models.push((
                format!("arn:{partition}:bedrock:{model_region}::foundation-model/{model}"),
                vec!["bedrock:InvokeModel".into()],
            ));
        }
    }
    for service in config.services() {
        let service_region = config.service_region();
        models.push((
            format!(
                "arn:{partition}:bedrock:{service_region}:{account}:inference-profile/{}",
                service.profile_id()
            ),
            vec!["bedrock:InvokeModel".into()],
        ));
        for routed in Service::PROFILE_REGIONS {
            models.push((
                format!(
                    "arn:{partition}:bedrock:{routed}::foundation-model/{}",
                    service.bedrock_id()
                ),
                vec!["bedrock:InvokeModel".into()],
            ));
        }
    }
    let models = Needs {
        check: CheckId::IamModels,
        what: format!(
            "bedrock:InvokeModel on {} model or profile ARN(s)",
            models.len()
        ),
        pairs: models,
        absent: "only the offline generator is allowed",
    };

    let mut storage = Vec::new();
    if let StoreConfig::S3 { bucket } = &config.store {
        for prefix in marquee_core::store::KEY_PREFIXES {
            storage.push((
                format!("arn:{partition}:s3:::{bucket}/{prefix}{PROBE_NAME}"),
                vec!["s3:GetObject".into(), "s3:PutObject".into()],
            ));
        }
        storage.push((
            format!("arn:{partition}:s3:::{bucket}"),
            vec!["s3:ListBucket".into()],
        ));
    }
    let storage = Needs {
        check: CheckId::IamStorage,
        what: format!(
            "read and write {}, list the bucket",
            marquee_core::store::KEY_PREFIXES.join(" ")
        ),
        pairs: storage,
        absent: "posters are not kept in S3 by this configuration",
    };

    let mut state = Vec::new();
    if let StateConfig::Dynamo { table } = &config.state {
        state.push((
            format!("arn:{partition}:dynamodb:{region}:{account}:table/{table}"),
            marquee_core::state::dynamo::IAM_ACTIONS
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
        ));
    }
    let state = Needs {
        check: CheckId::IamState,
        absent: "state is not kept in DynamoDB by this configuration",
        what: format!(
            "{} item operations on {}",
            marquee_core::state::dynamo::IAM_ACTIONS.len(),
            outputs
                .get("TableName")
                .map(String::as_str)
                .unwrap_or_default()
        ),
        pairs: state,
    };

    let secret_arns: Vec<&String> = [&config.signing_secret, &config.bot_token, &config.link_key]
        .into_iter()
        .filter_map(|s| match s {
            Some(SecretSource::SecretsManager { arn }) => Some(arn),
            _ => None,
        })
        .collect();
    let secrets = Needs {
        check: CheckId::IamSecrets,
        absent: "no secret is read from Secrets Manager (values are set in the function's environment)",
        what: format!(
            "secretsmanager:GetSecretValue on {} secret(s)",
            secret_arns.len()
        ),
        pairs: secret_arns
            .into_iter()
            .map(|arn| (arn.clone(), vec!["secretsmanager:GetSecretValue".into()]))
            .collect(),
    };

    let failed = Needs {
        check: CheckId::IamFailedJobs,
        what: "send to and read the on-failure queue".into(),
        absent: "no on-failure queue to check (see Async invocations)",
        pairs: destination
            .filter(|d| d.starts_with("arn:") && d.contains(":sqs:"))
            .map(|queue| {
                vec![(
                    queue.to_owned(),
                    [
                        "sqs:SendMessage",
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ]
                    .map(String::from)
                    .to_vec(),
                )]
            })
            .unwrap_or_default(),
    };
    vec![invoke, models, storage, state, secrets, failed]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::doctor::judge::deployment::tests::{healthy, local_config};

    /// The configuration a deployed stack gives the function: S3, DynamoDB, secrets in
    /// Secrets Manager, the template's models.
    fn deployed_config() -> Config {
        let env: BTreeMap<&str, &str> = [
            ("MARQUEE_BUCKET", "posters"),
            ("MARQUEE_TABLE", "state"),
            (
                "SLACK_SIGNING_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/signing-Ab12",
            ),
            (
                "SLACK_BOT_TOKEN_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/bot-Ab12",
            ),
            (
                "MARQUEE_LINK_KEY_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:marquee/link-Ab12",
            ),
            ("MARQUEE_MODEL", "stability.sd3-5-large-v1:0"),
        ]
        .into_iter()
        .collect();
        Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap()
    }

    /// What the role must be allowed follows the code's own lists: the worker, each model and
    /// profile, each key prefix, the table's item operations, the secrets and the queue.
    #[test]
    fn each_permission_the_code_needs_is_derived_from_the_configuration() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:marquee-FailedJobQueue";
        let outputs = [("TableName", "state")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect();
        let needs = needed(&deployed_config(), &outputs, &healthy(), Some(queue));
        let by_id: BTreeMap<String, &Needs> = needs.iter().map(|n| (n.check.id(), n)).collect();
        assert_eq!(
            by_id.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "iam.failed_jobs",
                "iam.invoke",
                "iam.models",
                "iam.secrets",
                "iam.state",
                "iam.storage"
            ]
        );
        assert_eq!(
            by_id["iam.invoke"].pairs,
            [(healthy().arn, vec!["lambda:InvokeFunction".to_owned()])]
        );
        let models = &by_id["iam.models"].pairs;
        assert!(
            models.iter().any(|(arn, _)| arn
                == "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0"),
            "{models:?}"
        );
        assert!(models.iter().all(|(_, a)| a == &["bedrock:InvokeModel"]));
        let storage = &by_id["iam.storage"].pairs;
        for prefix in marquee_core::store::KEY_PREFIXES {
            assert!(
                storage.contains(&(
                    format!("arn:aws:s3:::posters/{prefix}{PROBE_NAME}"),
                    vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()]
                )),
                "{prefix}: {storage:?}"
            );
        }
        assert_eq!(
            by_id["iam.state"].pairs[0].0,
            "arn:aws:dynamodb:us-east-1:123456789012:table/state"
        );
        assert_eq!(
            by_id["iam.state"].pairs[0].1.len(),
            marquee_core::state::dynamo::IAM_ACTIONS.len()
        );
        assert_eq!(by_id["iam.secrets"].pairs.len(), 3);
        assert_eq!(by_id["iam.failed_jobs"].pairs[0].0, queue);

        // Local values and no SQS queue: nothing to check for those groups, and why.
        let local = needed(&local_config(), &outputs, &healthy(), Some("arn:aws:sns:x"));
        for n in &local {
            if matches!(
                n.check,
                CheckId::IamSecrets
                    | CheckId::IamFailedJobs
                    | CheckId::IamStorage
                    | CheckId::IamState
            ) {
                assert!(n.pairs.is_empty(), "{n:?}");
                let verdict = permissions(n, &Ok(Vec::new()));
                assert_eq!(
                    (verdict.status, verdict.detail.as_str()),
                    (Status::Skip, n.absent)
                );
            }
        }
    }

    /// Every action allowed passes with a count; each denial is named with the simulator's
    /// decision (an explicit Deny is told apart from a missing Allow).
    #[test]
    fn each_permission_the_role_lacks_is_named_with_its_decision() {
        let needs = Needs {
            check: CheckId::IamStorage,
            what: "read and write posters/".into(),
            pairs: vec![(
                "arn:aws:s3:::b/posters/x".into(),
                vec!["s3:GetObject".into(), "s3:PutObject".into()],
            )],
            absent: "",
        };
        let verdict = permissions(&needs, &Ok(Vec::new()));
        assert_eq!(
            (verdict.status, verdict.detail.as_str()),
            (Status::Pass, "2 action(s) allowed: read and write posters/")
        );
        let denied = vec![
            Denial {
                action: "s3:PutObject".into(),
                resource: "arn:aws:s3:::b/posters/x".into(),
                decision: "implicitDeny".into(),
            },
            Denial {
                action: "s3:GetObject".into(),
                resource: "arn:aws:s3:::b/prints/x".into(),
                decision: "explicitDeny".into(),
            },
        ];
        let verdict = permissions(&needs, &Ok(denied));
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.detail,
            "the role may not: s3:PutObject on arn:aws:s3:::b/posters/x (implicitDeny); \
             s3:GetObject on arn:aws:s3:::b/prints/x (explicitDeny)"
        );
        assert_eq!(verdict.fix, hints::IAM_DENIED);
        let verdict = permissions(&needs, &Err("AccessDenied".into()));
        assert_eq!(
            verdict.detail,
            "could not simulate the role's policy: AccessDenied"
        );
        assert_eq!(verdict.fix, hints::IAM_SIMULATE);
    }
}
