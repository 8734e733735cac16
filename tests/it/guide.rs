//! The admin's guide cannot drift: everything `docs/INSTALL.md` and `marquee doctor`'s hints
//! name must exist.
//!
//! - Commands, as an admin would type them: `marquee` (and `cargo run --bin marquee -- …`)
//!   subcommands and flags against the CLI's own `--help`; `sam` subcommands and flags against
//!   the SAM CLI's `--help`; `aws` services, operations and parameters against the service
//!   models of botocore, which the SAM CLI ships (the AWS CLI's commands are those models in
//!   kebab case), plus the few commands the CLI adds itself; `scripts/*.sh` flags against each
//!   script's `--help`; the quick start's container command against `scripts/fonts.sh`'s
//!   packages; the manifest `sed` against the manifest's placeholder.
//! - Names: `Name=value` settings and the guided-deploy table against the template's
//!   parameters (all of them, in SAM's order); backticked identifiers against the template,
//!   the metrics the code publishes and a short list of AWS's own names; environment variables
//!   against `config::ENV_VARS` and the scripts.
//! - Sections: `[…](#anchor)` links, "section N" and `docs/INSTALL.md, "Heading"` references
//!   (the doctor's form) against the guide's headings, in the guide, the README and
//!   ARCHITECTURE.md.
//! - The quick start's size, and that the template's parameter patterns accept only values the
//!   function accepts.
//!
//! The SAM CLI and botocore come from `.tools/venv` (scripts/test-tools.sh) or PATH.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::support::cfn::Deployment;
use marquee_service::config::{Config, ENV_VARS};

fn repo_file(name: &str) -> String {
    let path = crate::support::crate_root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn guide() -> String {
    repo_file("docs/INSTALL.md")
}

// ---------------------------------------------------------------------------------------------
// Headings and references
// ---------------------------------------------------------------------------------------------

/// The guide's `##` and `###` headings, as written.
fn headings(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && (line.starts_with("## ") || line.starts_with("### ")) {
            out.push(line.trim_start_matches('#').trim().to_owned());
        }
    }
    out
}

/// A heading without its section number: "4. Deploy" → "Deploy".
fn title(heading: &str) -> &str {
    match heading.split_once(". ") {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => heading,
    }
}

/// GitHub's anchor for a heading: lowercase, punctuation but `-` and `_` dropped, spaces → `-`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The numbers of the guide's numbered sections.
fn section_numbers(text: &str) -> BTreeSet<u32> {
    headings(text)
        .iter()
        .filter_map(|h| h.split_once(". ")?.0.parse().ok())
        .collect()
}

/// Fails unless every `docs/INSTALL.md, "Heading"` in `text` names a heading of the guide.
fn assert_guide_sections_exist(text: &str, whose: &str) {
    let titles: BTreeSet<String> = headings(&guide())
        .iter()
        .map(|h| title(h).to_owned())
        .collect();
    let re = regex_lite::Regex::new(r#"INSTALL\.md, "([^"]+)""#).unwrap();
    for cap in re.captures_iter(text) {
        assert!(
            titles.contains(&cap[1]),
            "{whose} names the section \"{}\", which docs/INSTALL.md does not have (its sections: {titles:?})",
            &cap[1]
        );
    }
}

#[test]
fn every_link_and_section_reference_in_the_guide_resolves() {
    let text = guide();
    let anchors: BTreeSet<String> = headings(&text).iter().map(|h| anchor(h)).collect();
    let link = regex_lite::Regex::new(r"\]\(#([^)]+)\)").unwrap();
    for cap in link.captures_iter(&text) {
        assert!(
            anchors.contains(&cap[1]),
            "the link #{} has no heading (anchors: {anchors:?})",
            &cap[1]
        );
    }
    let numbers = section_numbers(&text);
    let section = regex_lite::Regex::new(r"(?i)\bsection (\d+)").unwrap();
    let sign = regex_lite::Regex::new(r"§(\d+)").unwrap();
    for cap in section
        .captures_iter(&text)
        .chain(sign.captures_iter(&text))
    {
        let n: u32 = cap[1].parse().unwrap();
        assert!(numbers.contains(&n), "\"{}\" names no section", &cap[0]);
    }
    assert_guide_sections_exist(&text, "docs/INSTALL.md");
    // The README and the architecture point into the guide by number.
    let by_number = regex_lite::Regex::new(r"INSTALL\.md`?,? section (\d+)").unwrap();
    for file in ["README.md", "ARCHITECTURE.md"] {
        let other = repo_file(file);
        for cap in by_number.captures_iter(&other) {
            let n: u32 = cap[1].parse().unwrap();
            assert!(
                numbers.contains(&n),
                "{file}: \"{}\" names no section",
                &cap[0]
            );
        }
        assert_guide_sections_exist(&other, file);
    }
}

/// The quick start fits an hour: at most 40 lines and 10 shell commands.
#[test]
fn the_quick_start_is_short() {
    let text = guide();
    let start = text
        .find("\n## Quick start\n")
        .expect("a Quick start section");
    let body = &text[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
    let section = &body[..end];
    let lines = section.trim_end().lines().count();
    assert!(lines <= 40, "the quick start has {lines} lines");
    // A command is what the admin pastes: a code span that starts with a shell command, or a
    // stack output that is one (`Put…Command`). The fonts step offers two alternatives, of
    // which an admin runs one.
    let span = regex_lite::Regex::new(r"`([^`\n]+)`").unwrap();
    let shell = [
        "python3 ", "export ", "sudo ", "docker ", "sam ", "sed ", "cargo ", "aws ", "scripts/",
    ];
    let commands: Vec<String> = span
        .captures_iter(section)
        .map(|c| c[1].to_owned())
        .filter(|s| {
            shell.iter().any(|w| s.starts_with(w))
                || (s.starts_with("Put") && s.ends_with("Command"))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let alternatives = 1;
    assert!(
        commands.len() - alternatives <= 10,
        "{} commands in the quick start: {commands:#?}",
        commands.len() - alternatives
    );
    assert!(commands.len() - alternatives >= 7, "{commands:#?}");
    // Step 1 puts the tools' venv on PATH, which `sam build` needs (cargo-lambda, sam).
    assert!(section.contains("export PATH=\"$HOME/.marquee-tools/bin:$PATH\""));
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// Output of a command line tool, cached: `--help` texts do not change during a run.
fn help_of(program: &str, args: &[&str]) -> String {
    static CACHE: OnceLock<Mutex<BTreeMap<String, String>>> = OnceLock::new();
    let key = format!("{program} {}", args.join(" "));
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let out = Command::new(program)
        .args(args)
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap_or_else(|e| panic!("running {key}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    cache.lock().unwrap().insert(key, text.clone());
    text
}

/// A tool from `.tools/venv/bin` (scripts/test-tools.sh), else from PATH.
fn tool(name: &str) -> PathBuf {
    let venv = crate::support::crate_root()
        .join(".tools/venv/bin")
        .join(name);
    if venv.exists() {
        return venv;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| panic!("{name} not found: run scripts/test-tools.sh"))
}

/// The flags (`--name`, `-x`) a `--help` text lists.
fn flags_in(help: &str) -> BTreeSet<String> {
    let re = regex_lite::Regex::new(r"(?:^|[\s,\[|(])(--?[A-Za-z][A-Za-z0-9-]*)").unwrap();
    re.captures_iter(help).map(|c| c[1].to_owned()).collect()
}

/// Words of a command line, quotes kept together, `$( … )` and `&&` splitting commands.
fn commands_in(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut quote = None;
    let mut chars = line.chars().peekable();
    let flush = |word: &mut String, commands: &mut Vec<Vec<String>>| {
        if !word.is_empty() {
            commands.last_mut().unwrap().push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
            }
            (None, ')') => {
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '$') if chars.peek() == Some(&'(') => {
                // A command substituted inside quotes: checked on its own.
                chars.next();
                let inner: String = chars.by_ref().take_while(|c| *c != ')').collect();
                commands.extend(commands_in(&inner));
                commands.push(Vec::new());
            }
            (None, '&' | ';' | '|' | '>') => {
                flush(&mut word, &mut commands);
                commands.push(Vec::new());
            }
            (None, c) if c.is_whitespace() => flush(&mut word, &mut commands),
            (_, c) => word.push(c),
        }
    }
    flush(&mut word, &mut commands);
    commands.retain(|c| !c.is_empty());
    commands
}

/// The flags of a command's words (`--x=1` counts as `--x`).
fn flags_of(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter(|w| w.starts_with('-') && w.len() > 1 && !w.starts_with("---"))
        .map(|w| w.split('=').next().unwrap_or(w).to_owned())
        .collect()
}

fn check_marquee(words: &[String], whose: &str) {
    let sub = &words[1];
    let help = help_of(env!("CARGO_BIN_EXE_marquee"), &[sub, "--help"]);
    assert!(
        !help.contains("unrecognized subcommand"),
        "{whose}: `marquee {sub}` is not a marquee command"
    );
    let known = flags_in(&help);
    for flag in flags_of(&words[2..]) {
        assert!(
            known.contains(&flag),
            "{whose}: `marquee {sub}` has no {flag} (its help: {help})"
        );
    }
}

fn check_sam(words: &[String], whose: &str) {
    let sam = tool("sam");
    let sam = sam.to_str().unwrap();
    let sub = &words[1];
    if sub.starts_with('-') {
        assert!(flags_in(&help_of(sam, &["--help"])).contains(sub.as_str()));
        return;
    }
    let mut path = vec![sub.as_str()];
    // `sam list stack-outputs`, `sam local invoke`: a group and its command.
    if matches!(sub.as_str(), "list" | "local" | "remote" | "pipeline") {
        path.push(&words[2]);
    }
    let mut args = path.clone();
    args.push("--help");
    let help = help_of(sam, &args);
    assert!(
        !help.contains("No such command"),
        "{whose}: `sam {}` is not a SAM CLI command",
        path.join(" ")
    );
    let known = flags_in(&help);
    for flag in flags_of(&words[path.len() + 1..]) {
        assert!(
            known.contains(&flag),
            "{whose}: `sam {}` has no {flag}",
            path.join(" ")
        );
    }
}

/// Commands the AWS CLI adds to the service models, and options it adds to every command,
/// from the AWS CLI v2 command reference.
const AWS_CLI_OWN: &[&str] = &["configure", "sso login", "--version"];
const AWS_GLOBAL_FLAGS: &[&str] = &["--region", "--profile", "--query", "--output"];

/// A service's operations and each one's parameter flags, in the AWS CLI's kebab case.
type Operations = BTreeMap<String, BTreeSet<String>>;

/// Operation → parameter flags of a botocore service model.
fn aws_operations(service: &str) -> Operations {
    static CACHE: OnceLock<Mutex<BTreeMap<String, Operations>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap().get(service) {
        return hit.clone();
    }
    // The AWS CLI's s3api is botocore's s3.
    let model = if service == "s3api" { "s3" } else { service };
    let script = format!(
        r#"
import json, botocore.session
from botocore import xform_name
m = botocore.session.get_session().get_service_model("{model}")
out = {{}}
for op in m.operation_names:
    shape = m.operation_model(op).input_shape
    members = list(shape.members) if shape is not None else []
    out[xform_name(op, "-")] = ["--" + xform_name(p, "-") for p in members]
print(json.dumps(out))
"#
    );
    let python = tool("python");
    let out = Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "botocore has no service {model}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: BTreeMap<String, BTreeSet<String>> =
        serde_json::from_slice(&out.stdout).expect("JSON from the botocore script");
    cache
        .lock()
        .unwrap()
        .insert(service.to_owned(), parsed.clone());
    parsed
}

fn check_aws(words: &[String], whose: &str) {
    let rest: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    if AWS_CLI_OWN
        .iter()
        .any(|own| rest.join(" ").starts_with(own))
    {
        return;
    }
    let (service, op) = (rest[0], rest.get(1).copied().unwrap_or_default());
    let ops = aws_operations(service);
    let Some(params) = ops.get(op) else {
        panic!("{whose}: `aws {service} {op}` is not an AWS CLI command");
    };
    for flag in flags_of(&words[3..]) {
        // Boolean parameters have a --no- form; the CLI's paginators add --max-items etc.
        let base = flag.replacen("--no-", "--", 1);
        assert!(
            params.contains(&flag)
                || params.contains(&base)
                || AWS_GLOBAL_FLAGS.contains(&flag.as_str()),
            "{whose}: `aws {service} {op}` has no {flag} (it has {params:?})"
        );
    }
}

fn check_script(words: &[String], whose: &str) {
    let script = crate::support::crate_root().join(&words[0]);
    assert!(script.exists(), "{whose}: {} does not exist", words[0]);
    let help = help_of(script.to_str().unwrap(), &["--help"]);
    let known = flags_in(&help);
    for flag in flags_of(&words[1..]) {
        assert!(
            known.contains(&flag),
            "{whose}: {} has no {flag} in its --help:\n{help}",
            words[0]
        );
    }
}

/// Checks every command a line of the guide or a hint runs.
fn check_command_line(line: &str, whose: &str) {
    for words in commands_in(line) {
        let first = words[0].as_str();
        match first {
            "marquee" if words.len() > 1 && !words[1].starts_with('-') => {
                check_marquee(&words, whose)
            }
            "cargo" if words.get(1).map(String::as_str) == Some("run") => {
                if let Some(i) = words.iter().position(|w| w == "--") {
                    let mut rest = vec!["marquee".to_owned()];
                    rest.extend(words[i + 1..].iter().cloned());
                    if rest.len() > 1 && rest[1] != "…" {
                        check_marquee(&rest, whose);
                    }
                }
            }
            "sam" if words.len() > 1 => check_sam(&words, whose),
            "aws" if words.len() > 1 => check_aws(&words, whose),
            s if s.starts_with("scripts/") => check_script(&words, whose),
            _ => {}
        }
    }
}

/// Command lines of a text: code spans, and the lines of `sh` code blocks.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    let mut joined = String::new();
    for line in text.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(lang.to_owned()),
            };
            continue;
        }
        match &block {
            Some(lang) if lang == "sh" => {
                let code = line.split(" # ").next().unwrap_or(line).trim_end();
                if let Some(cont) = code.strip_suffix('\\') {
                    joined.push_str(cont);
                    joined.push(' ');
                } else {
                    joined.push_str(code);
                    out.push(std::mem::take(&mut joined));
                }
            }
            Some(_) => {}
            None => {
                let span = regex_lite::Regex::new(r"`([^`\n]+)`").unwrap();
                out.extend(span.captures_iter(line).map(|c| c[1].to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_command_the_guide_names_exists_with_its_flags() {
    for line in command_lines(&guide()) {
        check_command_line(&line, "docs/INSTALL.md");
    }
}

/// Every hint doctor can print names commands, flags and sections that exist.
pub(crate) fn assert_hint_references_exist(hint: &str, whose: &str) {
    for line in command_lines(hint) {
        check_command_line(&line, whose);
    }
    assert_guide_sections_exist(hint, whose);
    for name in backticked_names(hint) {
        assert_known_name(&name, whose);
    }
}

#[test]
fn every_doctor_hint_names_commands_and_sections_that_exist() {
    for (name, hint) in marquee::doctor::hints::ALL {
        assert_hint_references_exist(hint, &format!("doctor hint {name}"));
    }
    // The wording the issue asks for, when there are no credentials.
    assert_eq!(
        marquee::doctor::hints::NO_CREDENTIALS_DETAIL,
        "no AWS credentials: `aws configure`, `aws sso login` or `AWS_PROFILE`"
    );
}

/// The container command of the quick start runs scripts/fonts.sh on a bare `debian:12`: it
/// installs exactly the packages the script reads plus Python's venv module (which the bare
/// image lacks), keeps the script's venv inside the container, and hands the files back.
#[test]
fn the_fonts_container_command_installs_what_fonts_sh_needs() {
    let text = guide();
    let line = command_lines(&text)
        .into_iter()
        .find(|l| l.starts_with("docker run"))
        .expect("a docker run command in the guide");
    assert!(line.contains(" debian:12 "), "{line}");
    let fonts = repo_file("scripts/fonts.sh");
    let packages_line = fonts
        .lines()
        .find(|l| l.starts_with("PACKAGES=("))
        .expect("fonts.sh's PACKAGES");
    let mut wanted: BTreeSet<&str> = packages_line
        .trim_start_matches("PACKAGES=(")
        .trim_end_matches(')')
        .split_whitespace()
        .collect();
    wanted.insert("python3-venv");
    // The container's own commands: the `bash -c "…"` argument.
    let inner = line
        .split_once("bash -c \"")
        .and_then(|(_, rest)| rest.rsplit_once('"'))
        .map(|(inner, _)| inner)
        .expect("docker run … bash -c \"…\"");
    let mut installs = 0;
    for words in commands_in(inner) {
        if words.iter().any(|w| w == "install") && words[0] == "apt-get" {
            installs += 1;
            let got: BTreeSet<&str> = words
                .iter()
                .skip(2)
                .map(String::as_str)
                .filter(|w| !w.starts_with('-'))
                .collect();
            assert_eq!(
                got, wanted,
                "the container installs other packages than fonts.sh needs"
            );
        }
    }
    assert_eq!(installs, 1, "one apt-get install in {inner}");
    assert!(
        line.contains("MARQUEE_TOOLS_VENV=/tmp/venv scripts/fonts.sh"),
        "{line}"
    );
    assert!(
        fonts.contains("VENV=${MARQUEE_TOOLS_VENV:-"),
        "fonts.sh reads MARQUEE_TOOLS_VENV"
    );
    assert!(line.contains("chown -R $(id -u):$(id -g) build"), "{line}");
    // The same packages on Debian or Ubuntu directly.
    let apt = command_lines(&text)
        .into_iter()
        .find(|l| l.starts_with("sudo apt-get install"))
        .expect("the Debian/Ubuntu fonts command");
    for package in &wanted {
        assert!(apt.contains(package), "{apt} lacks {package}");
    }
}

/// The manifest `sed` replaces exactly the manifest's placeholder.
#[test]
fn the_manifest_sed_replaces_the_placeholder() {
    let placeholder = marquee_core::slack::manifest::PLACEHOLDER_BASE_URL;
    let seds: Vec<String> = command_lines(&guide())
        .into_iter()
        .filter(|l| l.starts_with("sed "))
        .collect();
    assert!(!seds.is_empty());
    for sed in seds {
        assert!(sed.contains(&format!("\"s#{placeholder}#")), "{sed}");
        assert!(sed.contains(" manifest/manifest.yaml > "), "{sed}");
    }
}

// ---------------------------------------------------------------------------------------------
// Names: parameters, outputs, metrics, environment variables
// ---------------------------------------------------------------------------------------------

/// The template's parameters, in order.
fn template_parameters() -> Vec<String> {
    Deployment::from_repo()
        .at(&["Parameters"])
        .as_mapping()
        .expect("Parameters")
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// AWS's and the SDK's own names the guide may quote (error codes, API and metric names).
const AWS_NAMES: &[&str] = &[
    "AccessDeniedException",
    "ResourceNotFoundException",
    "ValidationException",
    "DescribeStacks",
    "GetFoundationModel",
    "GetFoundationModelAvailability",
    // GetFoundationModel's `modelDetails.modelLifecycle.status` values.
    "ACTIVE",
    "LEGACY",
    "GetFunctionConfiguration",
    "GetFunctionEventInvokeConfig",
    "GetSecretValue",
    "DestinationDeliveryFailures",
    "RecoveryWindowInDays",
    "UsePreviousValue",
    "ERROR",
    "PUBLISHED",
    // SAM's event types (`Api`, `HttpApi`), quoted from its source.
    "Api",
];

fn backticked_names(text: &str) -> BTreeSet<String> {
    let re = regex_lite::Regex::new(r"`([A-Z][A-Za-z0-9]+)`").unwrap();
    re.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

fn assert_known_name(name: &str, whose: &str) {
    static TEMPLATE_WORDS: OnceLock<BTreeSet<String>> = OnceLock::new();
    let words = TEMPLATE_WORDS.get_or_init(|| {
        let re = regex_lite::Regex::new(r"[A-Za-z0-9]+").unwrap();
        re.find_iter(&repo_file("template.yaml"))
            .map(|m| m.as_str().to_owned())
            .collect()
    });
    let metric = marquee_core::metrics::PUBLISHED
        .iter()
        .any(|p| p.name == name || p.dimension_sets.iter().any(|set| set.contains(&name)));
    let env = ENV_VARS.contains(&name);
    assert!(
        words.contains(name) || metric || env || AWS_NAMES.contains(&name) || name == "Marquee",
        "{whose} names `{name}`, which is neither in template.yaml, a metric Marquee publishes, \
         an environment variable, nor one of AWS's names listed here"
    );
}

#[test]
fn every_parameter_output_and_name_the_guide_quotes_exists() {
    let text = guide();
    let parameters = template_parameters();
    for name in backticked_names(&text) {
        assert_known_name(&name, "docs/INSTALL.md");
    }
    // Name=value settings are parameters (`Name` itself is the guide's placeholder).
    let setting = regex_lite::Regex::new(r"\b([A-Z][a-z][A-Za-z0-9]*)=").unwrap();
    for cap in setting.captures_iter(&text) {
        let name = &cap[1];
        assert!(
            name == "Name" || name == "OnFailure" || parameters.iter().any(|p| p == name),
            "docs/INSTALL.md sets {name}=…, which is not a template parameter"
        );
    }
}

/// The guided-deploy table lists every parameter SAM asks for, in the order SAM asks
/// (template order, samcli/commands/deploy/guided_context.py `prompt_parameters`), and no
/// prompt SAM does not make for this template.
#[test]
fn the_guided_deploy_table_is_what_sam_asks() {
    let text = guide();
    let rows: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| Parameter "))
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(rows, template_parameters(), "the guided table's parameters");
    // SAM asks "… has no authentication. Is this okay?" only for an Api/HttpApi event whose API
    // has no Auth (samcli/commands/deploy/auth_utils.py); every HttpApi event here uses the
    // HttpApi resource, which has Auth.
    assert!(!text.contains("| MarqueeFunction has no authentication"));
    let d = Deployment::from_repo();
    let events = d.find(&["Resources", "MarqueeFunction", "Properties", "Events"]);
    let events = events.expect("the function's events");
    let mut http_events = 0;
    for (name, event) in events.as_mapping().unwrap() {
        if event["Type"].as_str() == Some("HttpApi") {
            http_events += 1;
            let api = &event["Properties"]["ApiId"];
            let id = api
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    api.as_mapping()
                        .and_then(|m| m.values().next())
                        .and_then(|v| v.as_str().map(str::to_owned))
                })
                .or_else(|| {
                    // `!Ref HttpApi` as the YAML tag it is.
                    match api {
                        serde_yaml::Value::Tagged(t) => t.value.as_str().map(str::to_owned),
                        _ => None,
                    }
                })
                .unwrap_or_else(|| panic!("event {name:?} names no ApiId"));
            assert!(
                d.find(&["Resources", &id, "Properties", "Auth"]).is_some(),
                "{id} has no Auth, so SAM would ask about {name:?}"
            );
        }
    }
    assert!(http_events > 0);
    for prompt in [
        "Stack Name",
        "AWS Region",
        "Confirm changes before deploy",
        "Allow SAM CLI IAM role creation",
        "Disable rollback",
        "Save arguments to configuration file",
        "SAM configuration file",
        "SAM configuration environment",
        "Deploy this changeset?",
    ] {
        assert!(text.contains(&format!("| {prompt}")), "no row for {prompt}");
    }
}

#[test]
fn every_environment_variable_the_guide_names_is_read() {
    let text = guide();
    let scripts: String = std::fs::read_dir(crate::support::crate_root().join("scripts"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    let re = regex_lite::Regex::new(r"\b((?:MARQUEE|SLACK)_[A-Z0-9_]+)\b").unwrap();
    for cap in re.captures_iter(&text) {
        let name = &cap[1];
        assert!(
            ENV_VARS.contains(&name) || scripts.contains(&format!("{name}:-")),
            "docs/INSTALL.md names {name}, which neither the config nor a script reads"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter patterns accept only what the function accepts
// ---------------------------------------------------------------------------------------------

/// Whether the function starts with `name` set to `value` (the rest at the defaults).
fn function_accepts(name: &str, value: &str) -> bool {
    static BASE: OnceLock<Deployment> = OnceLock::new();
    let d = BASE
        .get_or_init(|| {
            Deployment::from_repo()
                .bucket("PosterBucket", "posters-bucket")
                .table("StateTable", "state-table")
        })
        .clone()
        .param(name, value);
    let env = d.function_env("MarqueeFunction");
    Config::from_lookup(|k| env.get(k).cloned()).is_ok()
}

/// Whether CloudFormation takes `value` for `name`: its AllowedPattern (the whole value) and
/// AllowedValues.
fn template_accepts(parameters: &serde_yaml::Value, name: &str, value: &str) -> bool {
    let p = &parameters[name];
    if let Some(pattern) = p["AllowedPattern"].as_str() {
        let re = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        if !re.is_match(value) {
            return false;
        }
    }
    if let Some(values) = p["AllowedValues"].as_sequence() {
        return values.iter().any(|v| v.as_str() == Some(value));
    }
    true
}

#[test]
fn template_patterns_accept_only_values_the_function_accepts() {
    let d = Deployment::from_repo();
    let parameters = d.at(&["Parameters"]);
    // Values an admin might type: each parameter's own examples and boundaries.
    let mut probes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut ttl = Vec::new();
    for n in (0..=200u64).chain([
        1439, 1440, 1441, 10079, 10080, 10081, 86_400, 99_999, 100_000, 604_799, 604_800, 604_801,
        700_000,
    ]) {
        for unit in ["", "s", "m", "h", "d"] {
            ttl.push(format!("{n}{unit}"));
        }
    }
    ttl.extend(["24H", "1w", "-1h", "1.5h", " 24h", "024h"].map(String::from));
    probes.insert("LinkTtl", ttl);
    let limits = ["", "0", "1", "10", "999999999", "-1", "1.5", "ten"].map(String::from);
    probes.insert("UserDailyLimit", limits.to_vec());
    probes.insert("ChannelDailyLimit", limits.to_vec());
    probes.insert(
        "MonthlyBudgetUsd",
        [
            "",
            "0",
            "50",
            "12.50",
            ".5",
            "0.000001",
            "1.0000001",
            "-5",
            "1e3",
        ]
        .map(String::from)
        .to_vec(),
    );
    probes.insert(
        "ModelPrices",
        [
            "",
            "sd3.5=0.08",
            "sd3.5=0.08,nova=0.04",
            "offline=0.001",
            "stability.sd3-5-large-v1:0=0.08",
            "sd3.5=.5",
            "sd3.5=",
            "sd3.5=1.1234567",
            "unknown=1",
        ]
        .map(String::from)
        .to_vec(),
    );
    probes.insert(
        "Approvers",
        [
            "anyone",
            "anyone-but-requester",
            "U01ABCDEF",
            "U01ABCDEF,S02GHIJKL",
            "W0123",
            "u01",
            "U01,",
            "nobody",
        ]
        .map(String::from)
        .to_vec(),
    );
    // Every name the code knows, and one it does not.
    let models: Vec<String> = marquee_core::model::ModelId::ALL
        .iter()
        .filter_map(|m| m.bedrock_id().map(str::to_owned))
        .collect();
    let mut names = models.clone();
    for service in marquee_core::model::Service::ALL {
        names.push(service.bedrock_id().to_owned());
        names.push(service.profile_id().to_owned());
    }
    let mut prices: Vec<String> = names.iter().map(|n| format!("{n}=0.04")).collect();
    prices.push(format!("{}=0.08,nova=0.04", names[0]));
    probes.entry("ModelPrices").or_default().extend(prices);
    let mut defaults = models.clone();
    defaults.extend(["offline".into(), "stability.unknown-model-v9:0".into()]);
    probes.insert("DefaultModel", defaults);
    probes.insert(
        "AllowedModels",
        [
            "offline",
            "stability.sd3-5-large-v1:0,stability.stable-image-core-v1:1",
            "offline,amazon.nova-canvas-v1:0",
        ]
        .map(String::from)
        .to_vec(),
    );
    {
        probes.insert(
            "StabilityRegion",
            ["us-west-2", "us-east-1", "eu-west-1", "ap-northeast-2"]
                .map(String::from)
                .to_vec(),
        );
    }
    for name in ["ImageServices", "PrintUpscaler"] {
        let values = parameters[name]["AllowedValues"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        probes.insert(name, values);
    }
    let mut refused = Vec::new();
    let mut checked = 0;
    for (name, values) in &probes {
        for value in values {
            if template_accepts(parameters, name, value) {
                checked += 1;
                if !function_accepts(name, value) {
                    refused.push(format!("{name}={value:?}"));
                }
            }
        }
    }
    // Known gap, held here so that closing it fails this test until the list is emptied:
    // `DefaultModel` and `AllowedModels` take exactly the catalog's offered ids, but
    // `ModelPrices` takes any `name=dollars` pair, and the function refuses a name it does not
    // know (a retired model's price is still accepted, so old settings keep working).
    let known_gaps = ["ModelPrices=\"unknown=1\""];
    assert_eq!(
        refused, known_gaps,
        "the template accepts values the function refuses at a cold start"
    );
    // LinkTtl exactly: every value the function takes is one the template takes too, so the
    // pattern is not merely strict but right (leading zeros aside).
    for value in &probes["LinkTtl"] {
        if !value.starts_with('0') && value.trim() == value && function_accepts("LinkTtl", value) {
            assert!(
                template_accepts(parameters, "LinkTtl", value),
                "LinkTtl {value} refused"
            );
        }
    }
    assert!(checked > 100, "only {checked} probes reached the function");
}
