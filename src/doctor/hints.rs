//! What doctor tells an admin to do about each failure, in one list.
//!
//! Every hint names something that exists and fixes that failure: a command (in backticks,
//! flags included), a stack output or parameter, or a section of `docs/INSTALL.md` written as
//! `docs/INSTALL.md, "Heading"`. `tests/it/guide.rs` checks every hint here against the
//! `marquee`, `sam` and `aws` command lines, the template and the guide's headings, so a
//! renamed section or flag fails a test instead of misleading an admin. Words in angle
//! brackets (`<stack>`, `<function>`, `<region>`, `<HttpApiUrl>`, …) are filled in by the
//! check when it knows the value, and left for the admin otherwise.
//!
//! The settings hints never say "deploy again" alone: `sam deploy` with an unchanged template
//! changes nothing, so a setting is changed where it is kept (samconfig.toml), and a change
//! made outside CloudFormation is set back by hand.

/// The detail line when the SDK finds no credentials at all.
pub const NO_CREDENTIALS_DETAIL: &str =
    "no AWS credentials: `aws configure`, `aws sso login` or `AWS_PROFILE`";
pub const NO_CREDENTIALS: &str = "set up credentials with `aws configure` (access keys) or \
     `aws sso login` (IAM Identity Center), or set `AWS_PROFILE` to a profile that has them; \
     `aws sts get-caller-identity` shows the identity doctor will use";
pub(crate) const NO_REGION: &str = "pass the region you deployed to: `marquee doctor --stack <stack> \
     --region <region>` (or set `AWS_REGION`)";
pub(crate) const STACK_MISSING: &str = "`aws cloudformation list-stacks --region <region> \
     --stack-status-filter CREATE_COMPLETE UPDATE_COMPLETE` lists the stacks there; pass the \
     one `sam deploy` created with `marquee doctor --stack <name> --region <region>`, or \
     deploy one (docs/INSTALL.md, \"Deploy\")";
pub(crate) const STACK_UNREADABLE: &str = "your identity needs read access to the deployment, \
     starting with `cloudformation:DescribeStacks` (docs/INSTALL.md, \"Checking a deployment \
     with marquee doctor\")";
pub(crate) const STACK_NOT_MARQUEE: &str = "this stack was not made from Marquee's template.yaml: \
     pass the one `sam deploy` created with `marquee doctor --stack <name>`";
pub(crate) const STACK_UNSETTLED: &str = "wait for the deployment to finish: `aws cloudformation \
     describe-stack-events --stack-name <stack>` shows its progress and which resource \
     failed. A stack in ROLLBACK_COMPLETE cannot be updated: remove it with `sam delete \
     --stack-name <stack>` and deploy again (docs/INSTALL.md, \"Updating and removing\")";
pub(crate) const FUNCTION_UNREADABLE: &str = "your identity needs `lambda:GetFunctionConfiguration` \
     on the function (docs/INSTALL.md, \"Checking a deployment with marquee doctor\")";
pub(crate) const FUNCTION_ENV: &str = "a parameter holds a value the function refuses: correct it in \
     samconfig.toml's `parameter_overrides` (or answer `sam deploy --guided` again), then \
     `sam deploy` (docs/INSTALL.md, \"Changing a setting\")";
pub(crate) const FUNCTION_STATE: &str = "run doctor again in a minute; if the state is Failed, \
     `aws lambda get-function-configuration --function-name <function> --query StateReason` \
     says why";
pub(crate) const FUNCTION_UPDATE_FAILED: &str = "`aws lambda get-function-configuration \
     --function-name <function> --query LastUpdateStatusReason` says why; fix that, then \
     start a new update with `aws lambda update-function-configuration --function-name \
     <function> --description retried`";
pub(crate) const FUNCTION_DRIFT: &str = "the function was changed outside CloudFormation, which a \
     plain `sam deploy` does not undo: set it back to what template.yaml says \
     (docs/INSTALL.md, \"Changes made outside CloudFormation\")";
pub(crate) const FUNCTION_MEMORY: &str = "raise `MemorySize` (1024 is the default) in samconfig.toml's \
     `parameter_overrides`, then `sam deploy` (docs/INSTALL.md, \"Changing a setting\")";
pub(crate) const FUNCTION_TIMEOUT: &str = "the template sets a 180 s timeout: set it back with `aws \
     lambda update-function-configuration --function-name <function> --timeout 180`, or \
     lower `MARQUEE_MODEL_TIMEOUT` if it was raised";
pub(crate) const ASYNC: &str = "set them back to the template's (a plain `sam deploy` does not undo a \
     change made in the console): `aws lambda put-function-event-invoke-config \
     --function-name <function> --maximum-retry-attempts 0 --maximum-event-age-in-seconds 1200 \
     --destination-config OnFailure={Destination=<FailedJobQueue ARN>}`";
pub(crate) const SECRET_SIGNING: &str = "run the stack's `PutSigningSecretCommand` output and paste the \
     Signing Secret from your Slack app's Basic Information → App Credentials \
     (docs/INSTALL.md, \"Store the Slack secrets\")";
pub(crate) const SECRET_BOT: &str = "run the stack's `PutBotTokenCommand` output and paste the Bot User \
     OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page (docs/INSTALL.md, \
     \"Store the Slack secrets\")";
pub(crate) const SECRET_LINK_KEY: &str = "store a new random key, which also revokes every poster link \
     already posted: `aws secretsmanager put-secret-value --secret-id <secret> \
     --secret-string \"$(aws secretsmanager get-random-password --password-length 64 \
     --exclude-punctuation --query RandomPassword --output text)\"`";
pub(crate) const SECRET_UNREADABLE: &str = "your identity needs `secretsmanager:GetSecretValue` on the \
     stack's secrets (docs/INSTALL.md, \"Checking a deployment with marquee doctor\")";
pub(crate) const SLACK_UNREACHABLE: &str = "check this machine's network (`curl -sI \
     https://slack.com/api/auth.test`); the function reaches Slack the same way";
pub(crate) const SLACK_REFUSED: &str = "the stored token is revoked or belongs to another app: copy \
     the Bot User OAuth Token from the app's OAuth & Permissions page and store it with the \
     stack's `PutBotTokenCommand` output (docs/INSTALL.md, \"Store the Slack secrets\")";
pub(crate) const SLACK_SCOPES: &str = "the app was installed from an older manifest: paste the current \
     one (`marquee manifest --url <HttpApiUrl>`) on the app's App Manifest page and reinstall \
     (Install App → Reinstall to Workspace); the token stays the same (docs/INSTALL.md, \
     \"Create the Slack app from the manifest\")";
pub(crate) const MODEL_UNREADABLE: &str = "your identity needs \
     `bedrock:GetFoundationModelAvailability` in <region> (docs/INSTALL.md, \"Checking a \
     deployment with marquee doctor\")";
pub(crate) const MODEL_REGION: &str = "set the family's region to one that serves the model \
     (`StabilityRegion` in samconfig.toml's `parameter_overrides`), then \
     `sam deploy` (docs/INSTALL.md, \"Choose the models and their regions\")";
pub(crate) const MODEL_ACCESS: &str = "make the model's first call yourself, as an admin: Bedrock \
     console in <region> → Model catalog → the model → Open in playground, generate one image \
     and wait two minutes (docs/INSTALL.md, \"Choose the models and their regions\")";
pub(crate) const BUCKET_PRIVATE: &str = "turn Block Public Access back on with `aws s3api \
     put-public-access-block --bucket <bucket> --public-access-block-configuration \
     BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true` \
     and remove any public grant from the bucket policy (docs/INSTALL.md, \"Changes made \
     outside CloudFormation\")";
pub(crate) const BUCKET_DRIFT: &str = "the bucket was changed outside CloudFormation, which a plain \
     `sam deploy` does not undo: set it back to what template.yaml says (docs/INSTALL.md, \
     \"Changes made outside CloudFormation\")";
pub(crate) const IAM_SIMULATE: &str = "your identity needs `iam:SimulatePrincipalPolicy` on the \
     function's role (docs/INSTALL.md, \"Checking a deployment with marquee doctor\")";
pub(crate) const IAM_DENIED: &str = "the role was changed outside CloudFormation (docs/INSTALL.md, \
     \"Changes made outside CloudFormation\"), or a permissions boundary or service control \
     policy denies these actions: ask whoever manages it to allow them";
pub(crate) const FRONT_DOOR_UNREACHABLE: &str = "check that `curl -i <HttpApiUrl>/healthz` answers \
     200, and read the function's logs with `sam logs --stack-name <stack>`";
pub(crate) const FRONT_DOOR_NOT_MARQUEE: &str = "this URL is not Marquee's front door, or it does not \
     verify Slack's signatures: read the function's logs with `sam logs --stack-name <stack>`";
pub(crate) const FRONT_DOOR_SECRET: &str = "the function re-reads its signing secret when a signature \
     fails, at most every 30 s: run doctor again in a minute; if it is still refused, read the \
     function's logs with `sam logs --stack-name <stack>` (docs/INSTALL.md, \"Rotating \
     secrets without downtime\")";
pub(crate) const FRONT_DOOR_OTHER: &str =
    "read the function's logs for this request: `sam logs --stack-name <stack>`";
pub(crate) const MANIFEST_UNREADABLE: &str = "pass the manifest you pasted into Slack: `marquee doctor \
     --stack <stack> --manifest <file>`";
pub(crate) const MANIFEST_WRONG: &str = "render it for this deployment (`marquee manifest --url \
     <HttpApiUrl>`) and paste it on the app's App Manifest page (docs/INSTALL.md, \"Create the \
     Slack app from the manifest\")";

/// Every hint by name, for the test that checks what each one names.
pub const ALL: &[(&str, &str)] = &[
    ("NO_CREDENTIALS_DETAIL", NO_CREDENTIALS_DETAIL),
    ("NO_CREDENTIALS", NO_CREDENTIALS),
    ("NO_REGION", NO_REGION),
    ("STACK_MISSING", STACK_MISSING),
    ("STACK_UNREADABLE", STACK_UNREADABLE),
    ("STACK_NOT_MARQUEE", STACK_NOT_MARQUEE),
    ("STACK_UNSETTLED", STACK_UNSETTLED),
    ("FUNCTION_UNREADABLE", FUNCTION_UNREADABLE),
    ("FUNCTION_ENV", FUNCTION_ENV),
    ("FUNCTION_STATE", FUNCTION_STATE),
    ("FUNCTION_UPDATE_FAILED", FUNCTION_UPDATE_FAILED),
    ("FUNCTION_DRIFT", FUNCTION_DRIFT),
    ("FUNCTION_MEMORY", FUNCTION_MEMORY),
    ("FUNCTION_TIMEOUT", FUNCTION_TIMEOUT),
    ("ASYNC", ASYNC),
    ("SECRET_SIGNING", SECRET_SIGNING),
    ("SECRET_BOT", SECRET_BOT),
    ("SECRET_LINK_KEY", SECRET_LINK_KEY),
    ("SECRET_UNREADABLE", SECRET_UNREADABLE),
    ("SLACK_UNREACHABLE", SLACK_UNREACHABLE),
    ("SLACK_REFUSED", SLACK_REFUSED),
    ("SLACK_SCOPES", SLACK_SCOPES),
    ("MODEL_UNREADABLE", MODEL_UNREADABLE),
    ("MODEL_REGION", MODEL_REGION),
    ("MODEL_ACCESS", MODEL_ACCESS),
    ("BUCKET_PRIVATE", BUCKET_PRIVATE),
    ("BUCKET_DRIFT", BUCKET_DRIFT),
    ("IAM_SIMULATE", IAM_SIMULATE),
    ("IAM_DENIED", IAM_DENIED),
    ("FRONT_DOOR_UNREACHABLE", FRONT_DOOR_UNREACHABLE),
    ("FRONT_DOOR_NOT_MARQUEE", FRONT_DOOR_NOT_MARQUEE),
    ("FRONT_DOOR_SECRET", FRONT_DOOR_SECRET),
    ("FRONT_DOOR_OTHER", FRONT_DOOR_OTHER),
    ("MANIFEST_UNREADABLE", MANIFEST_UNREADABLE),
    ("MANIFEST_WRONG", MANIFEST_WRONG),
];

/// `hint` with each `<name>` it knows replaced by its value.
pub(crate) fn fill(hint: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(hint.to_owned(), |text, (name, value)| {
        text.replace(&format!("<{name}>"), value)
    })
}
