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

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs` and binaries).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.as_str() {
        "lib.rs" | "bin" => None,
        _ => Some(first.trim_end_matches(".rs").to_owned()),
    }
}

/// A file's product code: up to its test module, without comments.
fn product_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` names as `crate::<module>`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
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
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let code = product_code(&std::fs::read_to_string(&file).unwrap());
        for used in uses(&code) {
            if used != module {
                let rel = file.strip_prefix(src()).unwrap().display().to_string();
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
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for module in files.iter().filter_map(|f| module_of(f)) {
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
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut hits = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src()).unwrap().display().to_string();
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
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    assert!(
        lib.lines().any(|l| matches!(
            l.trim(),
            "#![warn(unreachable_pub)]" | "#![deny(unreachable_pub)]"
        )),
        "src/lib.rs must keep #![warn(unreachable_pub)]: pub(crate) unless the binaries, tests, \
         benches or fuzz targets use it"
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
