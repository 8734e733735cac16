//! Tidy checks that turn ARCHITECTURE.md's layering into facts, after rust-analyzer's
//! `xtask/src/tidy.rs`: this test reads `src/` and fails on any `crate::…` edge between
//! top-level modules that the architecture does not allow, on a dependency cycle, and on the
//! few things only one module may do (read the environment, build AWS clients), and keeps the
//! library private by default.
//!
//! Product code only: each file is read up to its `#[cfg(test)]` module, and comments (doc
//! links included) are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may use. Everything not listed is forbidden. Keep this in step
/// with ARCHITECTURE.md's "Layers".
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves: vocabulary shared by several modules lives here, never inside one of its users.
    ("secret", &[]),
    ("errors", &[]),
    ("genre", &[]),
    // What is counted, as CloudWatch embedded-metric lines: its own small vocabulary, so every
    // layer that counts something can, and it names nothing of theirs.
    ("metrics", &[]),
    // CPU-heavy work off the executor, below the request path (nice 19 on its threads).
    ("cpu", &[]),
    // Outbound HTTPS: the one TLS stack every HTTP client (Slack's, the SDK's) is built on.
    ("net", &[]),
    // Domain: models draw, the composer sets type, stores keep bytes. None knows the others,
    // Slack or HTTP.
    ("model", &["cpu", "genre"]),
    ("poster", &["genre"]),
    ("store", &["secret"]),
    // Durable state (run markers, locks, records, counters): generic items, no domain types;
    // `errors` only to log a failed sweep of expired items.
    ("state", &["errors"]),
    // The job contract and what a request may ask for.
    ("job", &["genre", "model", "poster"]),
    ("request", &["genre", "job", "model", "poster"]),
    // What a workspace lets its people make and spend: limits, prices, periods.
    ("quota", &["model"]),
    // Slack's wire formats: they build messages from jobs and specs, never run anything.
    (
        "slack",
        &[
            "errors", "genre", "job", "model", "net", "poster", "quota", "request", "secret",
        ],
    ),
    ("config", &["model", "secret"]),
    // The worker and how jobs reach it.
    (
        "pipeline",
        &[
            "cpu", "errors", "genre", "job", "metrics", "model", "poster", "quota", "slack",
            "state", "store",
        ],
    ),
    ("dispatch", &["errors", "job", "metrics", "pipeline"]),
    // The doors and the wiring.
    (
        "http",
        &[
            "dispatch", "errors", "genre", "job", "metrics", "pipeline", "poster", "request",
            "secret", "slack", "state", "store",
        ],
    ),
    ("lambda", &["errors", "http", "job", "pipeline"]),
    // (`poster` only to tell it where the fonts layer is.)
    (
        "app",
        &[
            "config", "dispatch", "errors", "http", "metrics", "model", "net", "pipeline",
            "poster", "quota", "request", "secret", "slack", "state", "store",
        ],
    ),
    // The admin's checks of a deployment: what the function would read and call, asked of
    // each service with the admin's own credentials.
    (
        "doctor",
        &[
            "config", "errors", "http", "model", "net", "secret", "slack", "state", "store",
        ],
    ),
    (
        "cli",
        &[
            "app", "config", "doctor", "errors", "genre", "http", "model", "net", "poster",
            "request", "secret", "slack",
        ],
    ),
];

/// The source roots of the workspace's library crates.
fn roots() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("crates/marquee-core/src"),
        root.join("crates/marquee-service/src"),
        root.join("src"),
    ]
}

fn src_files() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for root in roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        out.extend(
            files
                .into_iter()
                .filter(|f| !f.ends_with("tests.rs"))
                .map(|f| (root.clone(), f)),
        );
    }
    out
}

/// The workspace as `cargo metadata` sees it.
pub struct Workspace {
    pub packages: Vec<Package>,
}

/// A workspace member: its name, binaries and normal (non-dev) dependencies.
pub struct Package {
    pub name: String,
    pub bins: Vec<String>,
    pub deps: Vec<String>,
}

/// `cargo metadata` for this workspace, read once.
pub fn workspace() -> &'static Workspace {
    static W: std::sync::OnceLock<Workspace> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let packages = v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| Package {
                name: p["name"].as_str().unwrap().to_owned(),
                bins: p["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
                    .map(|t| t["name"].as_str().unwrap().to_owned())
                    .collect(),
                deps: p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["kind"].is_null())
                    .map(|d| d["name"].as_str().unwrap().to_owned())
                    .collect(),
            })
            .collect();
        Workspace { packages }
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under a crate's `src/` belongs to (`None` for `lib.rs` and
/// binaries).
fn module_of(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.as_str() {
        "lib.rs" | "bin" => None,
        _ => Some(first.trim_end_matches(".rs").to_owned()),
    }
}

/// A file's product code: up to its test module, without comments.
fn product_code(text: &str) -> String {
    // The inline test module (`mod tests {`, after its `#[cfg(…)]`); `mod tests;` is a file
    // of its own, skipped by `src_files`.
    let end = text
        .find("\nmod tests {")
        .map(|at| text[..at].rfind("\n#[cfg(").unwrap_or(at))
        .unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` names as `crate::<module>`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code = code
        .replace("marquee_core::", "crate::")
        .replace("marquee_service::", "crate::");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        // `marquee_core::x` is this scanner's `crate::x` too (one layer table, several crates).
        let name: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
        rest = tail;
    }
    found
}

/// Every (module, file) → the modules it uses, for product code in `src/`.
fn edges() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (root, file) in src_files() {
        let Some(module) = module_of(&root, &file) else {
            continue;
        };
        let code = product_code(&std::fs::read_to_string(&file).unwrap());
        for used in uses(&code) {
            if used != module {
                let rel = file.strip_prefix(&root).unwrap().display().to_string();
                out.entry(module.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .insert(rel);
            }
        }
    }
    out
}

#[test]
fn every_module_uses_only_what_the_architecture_allows() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    for module in src_files().iter().filter_map(|(r, f)| module_of(r, f)) {
        if !allowed.contains_key(module.as_str()) {
            problems.push(format!(
                "src/{module} is not in tests/it/architecture.rs's ALLOWED table: place it in a layer"
            ));
        }
    }
    for (module, used) in edges() {
        let Some(may) = allowed.get(module.as_str()) else {
            continue;
        };
        for (dependency, where_) in used {
            if !may.contains(&dependency.as_str()) {
                problems.push(format!(
                    "{module} must not use crate::{dependency} (in {})",
                    where_.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_allowed_layering_has_no_cycle() {
    let graph: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    // Depth-first search with colours: a grey node met again closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, &'a [&'a str]>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let at = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(node);
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node, 1);
        path.push(node);
        for next in graph.get(node).copied().unwrap_or_default() {
            if let Some(cycle) = visit(next, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        let cycle = visit(node, &graph, &mut state, &mut Vec::new());
        assert!(cycle.is_none(), "cycle: {}", cycle.unwrap().join(" -> "));
    }
}

/// Lines of product code, outside `allowed_in`, that contain `needle`.
fn found_outside(needle: &str, allowed_in: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for (root, file) in src_files() {
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        if allowed_in.contains(&rel.as_str()) {
            continue;
        }
        let code = product_code(&std::fs::read_to_string(&file).unwrap());
        for line in code.lines().filter(|l| l.contains(needle)) {
            hits.push(format!("{rel}: {}", line.trim()));
        }
    }
    hits
}

#[test]
fn only_config_reads_the_environment() {
    let hits = found_outside("env::var", &["config.rs"]);
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn only_app_builds_aws_clients() {
    // Doctor is the exception: it runs with the admin's credentials and region, never the
    // function's, and asks control-plane services the function never calls.
    let doctor = ["app.rs", "doctor/checks.rs"];
    let mut hits = found_outside("Client::new(", &doctor);
    hits.extend(found_outside("Client::from_conf(", &doctor));
    hits.extend(found_outside("aws_config::defaults(", &doctor));
    // `load_defaults` would build the SDK's default HTTP client, which this build leaves out.
    hits.extend(found_outside("load_defaults(", &[]));
    // reqwest clients are not AWS clients, nor is `net`'s transport for the SDK.
    hits.retain(|h| !h.contains("reqwest") && !h.starts_with("net.rs: SharedHttpClient::new("));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Every HTTP client comes from `net`, on its TLS stack: reqwest is built without a crypto
/// provider of its own (a client built elsewhere panics unless `net` happened to install
/// *ring* earlier in the same process), and the SDK without its default client.
#[test]
fn only_net_builds_http_clients() {
    let mut hits = found_outside("reqwest::Client::new(", &["net.rs"]);
    hits.extend(found_outside("reqwest::Client::builder(", &["net.rs"]));
    hits.extend(found_outside("reqwest::get(", &["net.rs"]));
    hits.extend(found_outside("aws_smithy_http_client::", &["net.rs"]));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// In Lambda, stdout is what CloudWatch Logs reads: `tracing`'s JSON lines and the metrics'
/// EMF lines, each whole. A stray `println!` in the library would be neither (and a local
/// server's terminal is the CLI's business).
#[test]
fn only_metrics_and_the_cli_write_to_stdout() {
    let mut hits = found_outside("stdout()", &["metrics.rs"]);
    hits.extend(found_outside("println!", &[]));
    hits.extend(found_outside("print!(", &[]));
    hits.retain(|h| !h.starts_with("cli/") && !h.starts_with("cli.rs") && !h.starts_with("bin/"));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Without this lint a stray `pub` hides an item from rustc's dead-code lint again: in a
/// library every `pub` item counts as used.
#[test]
fn the_library_is_private_by_default() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let lints = manifest
        .split("[workspace.lints.rust]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .unwrap_or_default();
    assert!(
        lints.lines().any(|l| matches!(
            l.trim(),
            r#"unreachable_pub = "warn""# | r#"unreachable_pub = "deny""#
        )),
        "Cargo.toml's [workspace.lints.rust] must keep unreachable_pub: pub only for what another crate uses"
    );
}

#[test]
fn the_scanner_sees_edges_and_ignores_comments_and_tests() {
    assert_eq!(
        uses("use crate::slack::blocks;\nlet x = crate::store::poster_key(a, b);"),
        BTreeSet::from(["slack".to_owned(), "store".to_owned()])
    );
    let code = product_code(
        "/// See [`crate::pipeline`].\nuse crate::model::ModelId;\n#[cfg(test)]\nmod tests {\n    use crate::http::router;\n}\n",
    );
    assert_eq!(uses(&code), BTreeSet::from(["model".to_owned()]));
}

/// The function links the workspace crates it needs and their dependencies, never the admin's
/// tools: `doctor`'s control-plane SDKs and the CLI's parser live in the `marquee` package only.
#[test]
fn the_function_links_neither_doctor_nor_its_sdks() {
    let w = workspace();
    let by_name: BTreeMap<&str, &Package> =
        w.packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut linked = BTreeSet::new();
    let mut todo = vec!["marquee-lambda"];
    while let Some(name) = todo.pop() {
        if !linked.insert(name.to_owned()) {
            continue;
        }
        if let Some(p) = by_name.get(name) {
            todo.extend(p.deps.iter().map(String::as_str));
        }
    }
    for never in [
        "marquee",
        "aws-sdk-cloudformation",
        "aws-sdk-iam",
        "aws-sdk-bedrock",
        "aws-credential-types",
        "clap",
    ] {
        assert!(
            !linked.contains(never),
            "marquee-lambda depends on {never}: {linked:?}"
        );
    }
    assert!(linked.contains("marquee-service") && linked.contains("marquee-core"));
}
