//! `template.yaml` as CloudFormation would see it for one set of parameter values: a small
//! evaluator of the intrinsic functions the template uses (`Ref`, `Fn::Sub`, `Fn::GetAtt`,
//! `Fn::If` with the `Conditions` section, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
//! `Fn::Select`, `Fn::Split`, `Fn::Join`), in both the short (`!Sub`) and long (`Fn::Sub:`)
//! forms.
//!
//! The test stand-ins take what the deployed function may do from here (its IAM statements, its
//! environment) instead of from hand-written copies, so a permission the template does not
//! grant fails locally as it would on AWS. An intrinsic function outside this list panics,
//! naming it, rather than being misread. The drift tests also read the YAML as written
//! (`Deployment::at`), for what must hold whatever the parameters.
//!
//! The stack (`support`) and the deployment-drift tests (`deploy`) both read the template here.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

/// A value after evaluation. `NoValue` is `AWS::NoValue`: its list items and map entries vanish.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Str(String),
    Bool(bool),
    List(Vec<Evaluated>),
    Map(BTreeMap<String, Evaluated>),
    NoValue,
}

impl Evaluated {
    pub fn as_str(&self) -> &str {
        match self {
            Evaluated::Str(s) => s,
            other => panic!("expected a string, found {other:?}"),
        }
    }

    /// A string or a list of strings (IAM's `Action` and `Resource` take either).
    pub fn strings(&self) -> Vec<String> {
        match self {
            Evaluated::Str(s) => vec![s.clone()],
            Evaluated::List(items) => items.iter().map(|i| i.as_str().to_owned()).collect(),
            other => panic!("expected a string or a list of strings, found {other:?}"),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Evaluated> {
        match self {
            Evaluated::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// The value at `path` (map keys), if every step is a map holding the next key. An entry
    /// that evaluated to `AWS::NoValue` is absent.
    pub fn find(&self, path: &[&str]) -> Option<&Evaluated> {
        path.iter().try_fold(self, |value, key| value.get(key))
    }

    /// The value at `path`; panics, naming the path, when it is absent.
    pub fn at(&self, path: &[&str]) -> &Evaluated {
        self.find(path)
            .unwrap_or_else(|| panic!("no {} in {self:?}", path.join(".")))
    }

    /// The entries of a map; panics on anything else.
    pub fn as_map(&self) -> &BTreeMap<String, Evaluated> {
        match self {
            Evaluated::Map(m) => m,
            other => panic!("expected a map, found {other:?}"),
        }
    }

    /// The items of a list; panics on anything else.
    pub fn as_list(&self) -> &[Evaluated] {
        match self {
            Evaluated::List(items) => items,
            other => panic!("expected a list, found {other:?}"),
        }
    }
}

/// One IAM policy statement of the function's role.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    /// `Resource`; empty when the statement names `NotResource` instead.
    pub resources: Vec<String>,
    /// `NotResource`: the statement applies to every resource but these.
    pub not_resources: Vec<String>,
}

impl Statement {
    /// Whether this statement names `action` (IAM actions are case-insensitive; `*` wildcards).
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
    }

    /// Whether this statement applies to `arn` (with `*` and `?` wildcards, as IAM matches
    /// them): `arn` is named in `Resource`, or, with `NotResource`, is not named there.
    pub fn covers_resource(&self, arn: &str) -> bool {
        if self.resources.is_empty() && !self.not_resources.is_empty() {
            return !self.not_resources.iter().any(|r| wildcard_match(r, arn));
        }
        self.resources.iter().any(|r| wildcard_match(r, arn))
    }
}

/// Whether the function's statements allow `action` on `arn`: some Allow names both, and no
/// Deny does (IAM's evaluation for a single identity policy, no conditions).
pub fn allows(statements: &[Statement], action: &str, arn: &str) -> bool {
    let hit = |s: &&Statement| s.covers_action(action) && s.covers_resource(arn);
    statements.iter().filter(|s| s.allow).any(|s| hit(&s))
        && !statements.iter().filter(|s| !s.allow).any(|s| hit(&s))
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The template with one deployment's values: parameters (unset ones take their `Default`),
/// pseudo parameters, and what `Ref`/`Fn::GetAtt` of the template's resources return.
#[derive(Clone)]
pub struct Deployment {
    root: Value,
    params: BTreeMap<String, String>,
    pseudo: BTreeMap<&'static str, String>,
    /// `Ref` of a resource, by logical id. Unlisted resources get `<LogicalId>-ref`.
    refs: BTreeMap<String, String>,
    /// `Fn::GetAtt`, by `LogicalId.Attribute`.
    attributes: BTreeMap<String, String>,
}

impl Deployment {
    /// Reads the crate's `template.yaml`.
    pub fn from_repo() -> Deployment {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Deployment::parse(&text)
    }

    pub fn parse(text: &str) -> Deployment {
        let root: Value =
            serde_yaml::from_str(text).unwrap_or_else(|e| panic!("template.yaml: {e}"));
        let pseudo = BTreeMap::from([
            ("AWS::Partition", "aws".to_owned()),
            ("AWS::Region", "us-east-1".to_owned()),
            ("AWS::AccountId", "123456789012".to_owned()),
            ("AWS::StackName", "marquee-test".to_owned()),
            ("AWS::URLSuffix", "amazonaws.com".to_owned()),
        ]);
        Deployment {
            root,
            params: BTreeMap::new(),
            pseudo,
            refs: BTreeMap::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Sets a parameter; panics if the template has no such parameter.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        assert!(
            self.root["Parameters"].get(name).is_some(),
            "template.yaml has no parameter {name}"
        );
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Names the S3 bucket resource `logical_id` as CloudFormation would have created it.
    pub fn bucket(mut self, logical_id: &str, name: &str) -> Self {
        self.refs.insert(logical_id.to_owned(), name.to_owned());
        self.attributes
            .insert(format!("{logical_id}.Arn"), format!("arn:aws:s3:::{name}"));
        self
    }

    /// Names the DynamoDB table resource `logical_id` as CloudFormation would have created it.
    pub fn table(mut self, logical_id: &str, name: &str) -> Self {
        let arn = format!(
            "arn:{}:dynamodb:{}:{}:table/{name}",
            self.pseudo["AWS::Partition"],
            self.pseudo["AWS::Region"],
            self.pseudo["AWS::AccountId"]
        );
        self.refs.insert(logical_id.to_owned(), name.to_owned());
        self.attributes.insert(format!("{logical_id}.Arn"), arn);
        self
    }

    /// What `Fn::GetAtt` of `target` (`LogicalId.Attribute`) returns in this deployment.
    pub fn get_att(&self, target: &str) -> String {
        self.attribute(target).as_str().to_owned()
    }

    /// The YAML as written at `path` (map keys from the root), unevaluated. For checks that
    /// must hold whatever the parameters: a key under an `!If` is written even when this
    /// deployment's conditions evaluate it away.
    pub fn find(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.root, |node, key| node.get(*key))
    }

    /// The YAML as written at `path`; panics, naming the path, when the template lacks it.
    pub fn at(&self, path: &[&str]) -> &Value {
        self.find(path)
            .unwrap_or_else(|| panic!("template.yaml has no {}", path.join(".")))
    }

    /// Evaluates the value at `path` (map keys from the root).
    pub fn eval_at(&self, path: &[&str]) -> Evaluated {
        self.eval(self.at(path))
    }

    /// The function's environment variables, evaluated (`AWS::NoValue` ones left out).
    pub fn function_env(&self, function: &str) -> BTreeMap<String, String> {
        match self.eval_at(&[
            "Resources",
            function,
            "Properties",
            "Environment",
            "Variables",
        ]) {
            Evaluated::Map(vars) => vars
                .into_iter()
                .filter(|(_, v)| *v != Evaluated::NoValue)
                .map(|(k, v)| (k, v.as_str().to_owned()))
                .collect(),
            other => panic!("Environment.Variables is not a map: {other:?}"),
        }
    }

    /// Every statement of the function's inline policies (SAM's `Policies` list), evaluated.
    pub fn function_statements(&self, function: &str) -> Vec<Statement> {
        let policies = self.eval_at(&["Resources", function, "Properties", "Policies"]);
        let Evaluated::List(policies) = policies else {
            panic!("{function}.Properties.Policies is not a list")
        };
        let mut out = Vec::new();
        for policy in policies {
            let Some(Evaluated::List(statements)) = policy.get("Statement") else {
                panic!(
                    "a policy of {function} has no Statement list (SAM policy templates are not evaluated here)"
                )
            };
            for s in statements {
                let field = |k: &str| {
                    s.get(k)
                        .unwrap_or_else(|| panic!("statement {s:?} has no {k}"))
                };
                let (resources, not_resources) = match (s.get("Resource"), s.get("NotResource")) {
                    (Some(r), None) => (r.strings(), Vec::new()),
                    (None, Some(n)) => (Vec::new(), n.strings()),
                    _ => panic!("statement {s:?} needs exactly one of Resource and NotResource"),
                };
                out.push(Statement {
                    sid: s
                        .get("Sid")
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default(),
                    allow: field("Effect").as_str() == "Allow",
                    actions: field("Action").strings(),
                    resources,
                    not_resources,
                });
            }
        }
        out
    }

    /// Whether the named condition holds.
    pub fn condition(&self, name: &str) -> bool {
        let node = self.root["Conditions"]
            .get(name)
            .unwrap_or_else(|| panic!("template.yaml has no condition {name}"));
        match self.eval(node) {
            Evaluated::Bool(b) => b,
            other => panic!("condition {name} is not a boolean: {other:?}"),
        }
    }

    fn parameter(&self, name: &str) -> Option<String> {
        if let Some(v) = self.params.get(name) {
            return Some(v.clone());
        }
        let p = self.root["Parameters"].get(name)?;
        Some(match p.get("Default") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => panic!("parameter {name} has no value and no default"),
        })
    }

    fn reference(&self, name: &str) -> Evaluated {
        if name == "AWS::NoValue" {
            return Evaluated::NoValue;
        }
        if let Some(v) = self.pseudo.get(name) {
            return Evaluated::Str(v.clone());
        }
        if let Some(v) = self.parameter(name) {
            return Evaluated::Str(v);
        }
        if self.root["Resources"].get(name).is_some() {
            if let Some(v) = self.refs.get(name) {
                return Evaluated::Str(v.clone());
            }
            return Evaluated::Str(
                self.typed_reference(name)
                    .unwrap_or_else(|| format!("{name}-ref")),
            );
        }
        panic!("Ref to {name}, which is neither a parameter nor a resource")
    }

    fn attribute(&self, target: &str) -> Evaluated {
        if let Some(v) = self.attributes.get(target) {
            return Evaluated::Str(v.clone());
        }
        if let Some(v) = self.queue_attribute(target) {
            return Evaluated::Str(v);
        }
        panic!("Fn::GetAtt {target} has no value in this deployment")
    }

    /// `Ref` of a resource whose type says what `Ref` returns (each type's "Return values"
    /// section in the CloudFormation template reference): a queue's URL
    /// (`AWS::SQS::Queue`), a secret's ARN (`AWS::SecretsManager::Secret`: its `Name` plus the
    /// hyphen and six random characters Secrets Manager appends, fixed here as `-a1B2c3` so
    /// tests can name it), a dashboard's name (`AWS::CloudWatch::Dashboard`, its
    /// `DashboardName`), a log group's name (`AWS::Logs::LogGroup`, its `LogGroupName`) and a function's name (`AWS::Serverless::Function` and
    /// `AWS::Lambda::Function`, its `FunctionName`). `None` for other types, or when the name
    /// property is absent (CloudFormation would make one up).
    fn typed_reference(&self, logical_id: &str) -> Option<String> {
        let resource = self.root["Resources"].get(logical_id)?;
        let named = |property: &str| -> Option<String> {
            let node = resource.get("Properties")?.get(property)?;
            Some(self.eval(node).as_str().to_owned())
        };
        let (region, account) = (&self.pseudo["AWS::Region"], &self.pseudo["AWS::AccountId"]);
        match resource.get("Type")?.as_str()? {
            "AWS::SQS::Queue" => self.queue_attribute(&format!("{logical_id}.QueueUrl")),
            "AWS::SecretsManager::Secret" => named("Name").map(|name| {
                format!(
                    "arn:{}:secretsmanager:{region}:{account}:secret:{name}-a1B2c3",
                    self.pseudo["AWS::Partition"]
                )
            }),
            "AWS::CloudWatch::Dashboard" => named("DashboardName"),
            "AWS::Logs::LogGroup" => named("LogGroupName"),
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => named("FunctionName"),
            _ => None,
        }
    }

    /// `Fn::GetAtt` of an `AWS::SQS::Queue` of the template, named as CloudFormation names a
    /// queue it creates without a `QueueName`: `<stack>-<LogicalId>` (plus a random suffix on
    /// AWS, left out here so tests can name it).
    fn queue_attribute(&self, target: &str) -> Option<String> {
        let (logical_id, attribute) = target.split_once('.')?;
        let resource = self.root["Resources"].get(logical_id)?;
        if resource.get("Type")?.as_str()? != "AWS::SQS::Queue" {
            return None;
        }
        let name = format!("{}-{logical_id}", self.pseudo["AWS::StackName"]);
        let (region, account) = (&self.pseudo["AWS::Region"], &self.pseudo["AWS::AccountId"]);
        Some(match attribute {
            "Arn" => format!(
                "arn:{}:sqs:{region}:{account}:{name}",
                self.pseudo["AWS::Partition"]
            ),
            "QueueName" => name,
            "QueueUrl" => format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
            _ => return None,
        })
    }

    fn substitute(&self, template: &str, vars: &BTreeMap<String, Evaluated>) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .unwrap_or_else(|| panic!("unclosed ${{ in Fn::Sub {template:?}"));
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(v.as_str());
            } else if name.contains('.') && !name.starts_with("AWS::") {
                out.push_str(self.attribute(name).as_str());
            } else {
                out.push_str(self.reference(name).as_str());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn eval_list(&self, value: &Value, function: &str) -> Vec<Evaluated> {
        match self.eval(value) {
            Evaluated::List(items) => items,
            other => panic!("{function} expects a list, found {other:?}"),
        }
    }

    /// Evaluates an intrinsic function `name` (without `!` or `Fn::`) applied to `arg`.
    fn function(&self, name: &str, arg: &Value) -> Evaluated {
        let args = |n: usize| -> &Vec<Value> {
            match arg {
                Value::Sequence(items) if items.len() == n => items,
                other => panic!("Fn::{name} takes {n} arguments, found {other:?}"),
            }
        };
        match name {
            "Ref" => self.reference(arg.as_str().expect("Ref takes a name")),
            "Condition" => Evaluated::Bool(self.condition(arg.as_str().expect("a name"))),
            "GetAtt" => match arg {
                Value::String(s) => self.attribute(s),
                Value::Sequence(parts) => self.attribute(&format!(
                    "{}.{}",
                    parts[0].as_str().unwrap_or_default(),
                    parts[1].as_str().unwrap_or_default()
                )),
                other => panic!("Fn::GetAtt {other:?}"),
            },
            "Sub" => match arg {
                Value::String(s) => Evaluated::Str(self.substitute(s, &BTreeMap::new())),
                Value::Sequence(parts) if parts.len() == 2 => {
                    let Evaluated::Map(vars) = self.eval(&parts[1]) else {
                        panic!("Fn::Sub's second argument must be a map")
                    };
                    let text = parts[0].as_str().expect("Fn::Sub's first argument");
                    Evaluated::Str(self.substitute(text, &vars))
                }
                other => panic!("Fn::Sub {other:?}"),
            },
            "If" => {
                let a = args(3);
                let cond = a[0].as_str().expect("Fn::If names a condition");
                if self.condition(cond) {
                    self.eval(&a[1])
                } else {
                    self.eval(&a[2])
                }
            }
            "Equals" => {
                let a = args(2);
                Evaluated::Bool(self.eval(&a[0]) == self.eval(&a[1]))
            }
            "Not" => match self.eval_list(arg, "Fn::Not").as_slice() {
                [Evaluated::Bool(b)] => Evaluated::Bool(!b),
                other => panic!("Fn::Not {other:?}"),
            },
            "And" | "Or" => {
                let values: Vec<bool> = self
                    .eval_list(arg, name)
                    .into_iter()
                    .map(|v| match v {
                        Evaluated::Bool(b) => b,
                        other => panic!("Fn::{name} of {other:?}"),
                    })
                    .collect();
                Evaluated::Bool(if name == "And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Select" => {
                let a = args(2);
                let index: usize = match self.eval(&a[0]) {
                    Evaluated::Str(s) => s.parse().expect("Fn::Select index"),
                    other => panic!("Fn::Select index {other:?}"),
                };
                let items = self.eval_list(&a[1], "Fn::Select");
                items.get(index).cloned().unwrap_or_else(|| {
                    panic!("Fn::Select index {index} is past the end of {items:?}; CloudFormation fails the stack")
                })
            }
            "Split" => {
                let a = args(2);
                let delimiter = a[0].as_str().expect("Fn::Split's delimiter is a literal");
                let text = self.eval(&a[1]);
                Evaluated::List(
                    text.as_str()
                        .split(delimiter)
                        .map(|s| Evaluated::Str(s.to_owned()))
                        .collect(),
                )
            }
            "Join" => {
                let a = args(2);
                let delimiter = a[0].as_str().expect("Fn::Join's delimiter is a literal");
                let items = self.eval_list(&a[1], "Fn::Join");
                Evaluated::Str(
                    items
                        .iter()
                        .filter(|i| **i != Evaluated::NoValue)
                        .map(|i| i.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join(delimiter),
                )
            }
            other => {
                panic!("intrinsic function {other} is not evaluated by tests/it/support/cfn.rs")
            }
        }
    }

    /// Evaluates any node of the template.
    pub fn eval(&self, value: &Value) -> Evaluated {
        match value {
            Value::Null => Evaluated::Str(String::new()),
            Value::Bool(b) => Evaluated::Str(b.to_string()),
            Value::Number(n) => Evaluated::Str(n.to_string()),
            Value::String(s) => Evaluated::Str(s.clone()),
            Value::Sequence(items) => Evaluated::List(
                items
                    .iter()
                    .map(|i| self.eval(i))
                    .filter(|i| *i != Evaluated::NoValue)
                    .collect(),
            ),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let name = tag.trim_start_matches('!');
                self.function(name.trim_start_matches("Fn::"), &tagged.value)
            }
            Value::Mapping(map) => {
                // The long form: a one-entry map `Ref: X` or `Fn::Name: args`.
                if map.len() == 1
                    && let Some((Value::String(key), arg)) = map.iter().next()
                    && (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                {
                    return self.function(key.trim_start_matches("Fn::"), arg);
                }
                Evaluated::Map(
                    map.iter()
                        .map(|(k, v)| {
                            let key = k.as_str().map(str::to_owned).unwrap_or_else(|| {
                                serde_yaml::to_string(k)
                                    .unwrap_or_default()
                                    .trim()
                                    .to_owned()
                            });
                            (key, self.eval(v))
                        })
                        .filter(|(_, v)| *v != Evaluated::NoValue)
                        .collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard_match(
            "arn:aws:s3:::b/posters/*",
            "arn:aws:s3:::b/posters/x.png"
        ));
        assert!(!wildcard_match(
            "arn:aws:s3:::b/posters/*",
            "arn:aws:s3:::b/locks/x.json"
        ));
        assert!(wildcard_match("s3:*", "s3:getobject"));
        assert!(wildcard_match("a?c", "abc") && !wildcard_match("a?c", "ac"));
    }

    #[test]
    fn evaluates_both_forms_and_drops_no_value() {
        let d = Deployment::parse(
            r#"
Parameters:
  Name: { Type: String, Default: posters }
Conditions:
  IsPosters: !Equals [!Ref Name, posters]
Resources:
  R:
    Properties:
      Short: !Sub "${Name}-${AWS::Region}"
      Long:
        Fn::If: [IsPosters, { Ref: Name }, other]
      Gone: !If [IsPosters, !Ref AWS::NoValue, here]
      List: [a, !Ref AWS::NoValue, 1, true]
      Folded: >-
        one
        two # not a comment
"#,
        );
        let props = d.eval_at(&["Resources", "R", "Properties"]);
        assert_eq!(props.at(&["Short"]).as_str(), "posters-us-east-1");
        assert_eq!(props.at(&["Long"]).as_str(), "posters");
        assert_eq!(props.find(&["Gone"]), None);
        assert!(d.find(&["Resources", "R", "Properties", "Gone"]).is_some());
        assert_eq!(props.at(&["List"]).strings(), ["a", "1", "true"]);
        assert_eq!(props.at(&["Folded"]).as_str(), "one two # not a comment");
    }
}
