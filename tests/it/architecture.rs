//! Tidy checks that turn ARCHITECTURE.md's layering into facts, after rust-analyzer's
//! `xtask/src/tidy.rs`. Cargo holds the layers between crates (a crate names only the crates
//! its manifest lists, and the manifests form no cycle); this test holds what Cargo cannot:
//!
//! - the layers inside each crate: a module uses only the modules of its own crate that
//!   [`ALLOWED`] lists, found by a scanner that reads paths (`crate::a`, `crate::{a, b}`,
//!   `super::…` resolved from the file's place) in product code — comments, strings and items
//!   under a `#[cfg(…test…)]` (an inline `mod tests { … }`, a `mod tests;` file) are not edges;
//! - every allowance is used (a rule nothing needs is a layer nobody holds);
//! - the modules in [`CRATES`] are the crates' modules, and ARCHITECTURE.md's layer table is
//!   the one [`layer_table`] renders from these rules and `cargo metadata`'s crate graph;
//! - the few things only one module may do (read the environment, build AWS or HTTP clients,
//!   write to stdout), and that the function links none of the admin's tools.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each library crate's source root and its top-level modules, lowest layer first.
const CRATES: &[(&str, &str, &[&str])] = &[
    (
        "marquee-core",
        "crates/marquee-core/src",
        &[
            "secret", "errors", "genre", "metrics", "cpu", "net", "testing", "model", "poster",
            "store", "state", "job", "request", "quota", "slack",
        ],
    ),
    (
        "marquee-service",
        "crates/marquee-service/src",
        &["config", "pipeline", "dispatch", "http", "lambda", "app"],
    ),
    ("marquee", "src", &["doctor", "cli"]),
];

/// What each top-level module may use of its own crate (what it uses of a lower crate Cargo
/// allows by the manifests). Everything not listed is forbidden, and every listed edge must be
/// used.
const ALLOWED: &[(&str, &[&str])] = &[
    // marquee-core. Leaves: vocabulary shared by several modules lives here, never inside one
    // of its users. `metrics` counts as CloudWatch embedded-metric lines and names nothing of
    // the layers that count; `net` is the one TLS stack every HTTP client is built on.
    ("secret", &[]),
    ("errors", &[]),
    ("genre", &[]),
    ("metrics", &[]),
    // CPU-heavy work off the executor, below the request path (nice 19 on its threads).
    ("cpu", &[]),
    ("net", &[]),
    // Servers for unit tests (this crate's and marquee-service's); no product code calls it.
    ("testing", &[]),
    // Domain: models draw, the composer sets type, stores keep bytes, state keeps items. None
    // knows the others, Slack or HTTP; `state` uses `errors` only to log a failed sweep.
    ("model", &["cpu", "genre"]),
    ("poster", &["genre"]),
    ("store", &["secret"]),
    ("state", &["errors"]),
    // The job contract, what a request may ask for, what a workspace may spend.
    ("job", &["genre", "model", "poster"]),
    ("request", &["genre", "job", "model"]),
    ("quota", &["model"]),
    // Slack's wire formats: they build messages from jobs and specs, never run anything.
    (
        "slack",
        &[
            "genre", "job", "model", "net", "poster", "quota", "request", "secret",
        ],
    ),
    // marquee-service: the worker, how jobs reach it, the doors, the wiring.
    ("config", &[]),
    ("pipeline", &[]),
    ("dispatch", &["pipeline"]),
    ("http", &["dispatch", "pipeline"]),
    ("lambda", &["http", "pipeline"]),
    ("app", &["config", "dispatch", "http", "pipeline"]),
    // marquee: the admin's checks of a deployment, and the command.
    ("doctor", &[]),
    ("cli", &["doctor"]),
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

// ---- The scanner: tokens without comments and strings, paths, test items --------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
    /// A string, char or number literal (its text does not matter).
    Lit,
}

/// `text`'s tokens, each with its line; comments and the contents of literals dropped.
fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let b: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let newlines =
        |from: usize, to: usize, b: &[char]| b[from..to].iter().filter(|c| **c == '\n').count();
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let (start, mut depth) = (i, 0);
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += newlines(start, i, &b);
        } else if c == '"'
            || ((c == 'r' || c == 'b') && matches!(next, Some('"' | '#' | 'r')))
                && raw_or_plain_string(&b, i).is_some()
        {
            let end = raw_or_plain_string(&b, i).unwrap();
            out.push((Tok::Lit, line));
            line += newlines(i, end, &b);
            i = end;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push((Tok::Lit, line));
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push((Tok::Lit, line));
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(b[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < b.len()
                && (b[i].is_alphanumeric()
                    || b[i] == '_'
                    || b[i] == '.' && b.get(i + 1).is_some_and(char::is_ascii_digit))
            {
                i += 1;
            }
            out.push((Tok::Lit, line));
        } else if c == ':' && next == Some(':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// Where the string literal starting at `i` ends (`"…"`, `b"…"`, `r#"…"#`, `br"…"`).
fn raw_or_plain_string(b: &[char], mut i: usize) -> Option<usize> {
    if b[i] == 'b' {
        i += 1;
    }
    if b.get(i) == Some(&'r') {
        i += 1;
        let mut hashes = 0;
        while b.get(i) == Some(&'#') {
            hashes += 1;
            i += 1;
        }
        if b.get(i) != Some(&'"') {
            return None;
        }
        i += 1;
        while i < b.len() {
            if b[i] == '"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&'#')) {
                return Some(i + 1 + hashes);
            }
            i += 1;
        }
        return Some(b.len());
    }
    if b.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            '\\' => i += 2,
            '"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    Some(b.len())
}

/// A file's product code: its tokens without items under a `#[cfg(…)]` that names `test`, and
/// the names of the `mod x;` files such items declare (test files of their own).
fn product_tokens(text: &str) -> (Vec<(Tok, usize)>, Vec<String>) {
    let toks = tokens(text);
    let (mut out, mut test_mods, mut i) = (Vec::new(), Vec::new(), 0);
    while i < toks.len() {
        if let Some(after) = test_cfg_attribute(&toks, i) {
            // Skip further attributes, then the item: up to a `;` or the `}` that closes its
            // body at depth 0.
            let mut j = after;
            while toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('#')) {
                j = attribute_end(&toks, j);
            }
            if let [
                (Tok::Ident(m), _),
                (Tok::Ident(name), _),
                (Tok::Punct(';'), _),
                ..,
            ] = &toks[j..]
                && m == "mod"
            {
                test_mods.push(name.clone());
            }
            let mut depth = 0i32;
            while j < toks.len() {
                match toks[j].0 {
                    Tok::Punct('(' | '[' | '{') => depth += 1,
                    Tok::Punct(')' | ']') => depth -= 1,
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            j += 1;
                            break;
                        }
                    }
                    Tok::Punct(';') if depth == 0 => {
                        j += 1;
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j;
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    (out, test_mods)
}

/// The index after the attribute starting at `i` (`#[…]` or `#![…]`).
fn attribute_end(toks: &[(Tok, usize)], mut i: usize) -> usize {
    i += 1;
    if toks.get(i).map(|t| &t.0) == Some(&Tok::Punct('!')) {
        i += 1;
    }
    let mut depth = 0;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('[') => depth += 1,
            Tok::Punct(']') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// If an outer `#[cfg(…)]` naming `test` starts at `i`, the index after it.
fn test_cfg_attribute(toks: &[(Tok, usize)], i: usize) -> Option<usize> {
    if toks[i].0 != Tok::Punct('#') || toks.get(i + 1)?.0 != Tok::Punct('[') {
        return None;
    }
    if toks.get(i + 2)?.0 != Tok::Ident("cfg".into()) {
        return None;
    }
    let end = attribute_end(toks, i);
    toks[i..end]
        .iter()
        .any(|t| t.0 == Tok::Ident("test".into()))
        .then_some(end)
}

/// The top-level modules of its own crate that code in module `here` (its path from the crate
/// root, e.g. `["pipeline", "approve"]`) names: `crate::a`, `crate::{a, b::c}`, and
/// `super::…` paths that reach the crate root.
fn uses(toks: &[(Tok, usize)], here: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let path_sep = |i: usize| toks.get(i).map(|t| &t.0) == Some(&Tok::Path);
    // The first segments of a `{a, b::c, self}` group starting at `i` (`{`).
    let group = |i: usize, found: &mut BTreeSet<String>| {
        let (mut j, mut depth, mut first) = (i + 1, 1, true);
        while j < toks.len() && depth > 0 {
            match &toks[j].0 {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => depth -= 1,
                Tok::Punct(',') if depth == 1 => first = true,
                Tok::Ident(s) if depth == 1 && first => {
                    if s != "self" {
                        found.insert(s.clone());
                    }
                    first = false;
                }
                _ => first = false,
            }
            j += 1;
        }
    };
    let mut i = 0;
    while i < toks.len() {
        // `$crate::` in a macro is the crate too; `pub(crate)` is not a path.
        // Where the path starts: the crate root (depth 0), or `super`s above the file's module.
        let start = match ident(i) {
            Some("crate") if path_sep(i + 1) => Some((i + 2, Some(0))),
            Some("super") if path_sep(i + 1) && (i == 0 || !path_sep(i - 1)) => {
                let mut j = i;
                let mut ups = 0;
                while ident(j) == Some("super") && path_sep(j + 1) {
                    ups += 1;
                    j += 2;
                }
                Some((j, here.len().checked_sub(ups)))
            }
            _ => None,
        };
        if let Some((at, base)) = start {
            let Some(base) = base else {
                i = at;
                continue;
            };
            if base == 0 {
                match (&toks.get(at).map(|t| &t.0), ident(at)) {
                    (_, Some(name)) => {
                        found.insert(name.to_owned());
                    }
                    (Some(Tok::Punct('{')), _) => group(at, &mut found),
                    _ => {}
                }
            } else {
                found.insert(here[0].clone());
            }
            i = at;
        } else {
            i += 1;
        }
    }
    found
}

/// A file's module path from its crate's root: `pipeline/approve.rs` → `[pipeline, approve]`,
/// `pipeline/mod.rs` → `[pipeline]`, `lib.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// A source file of a library crate, read and scanned.
struct Source {
    krate: &'static str,
    /// Relative to the crate's `src/`.
    rel: PathBuf,
    toks: Vec<(Tok, usize)>,
    /// The file's text with only product lines kept (others blank), for line searches.
    product_lines: Vec<(usize, String)>,
}

/// Every product source file of the library crates (binaries' `bin/` left out, test files
/// declared by `#[cfg(test)] mod x;` too).
fn sources() -> &'static [Source] {
    static S: std::sync::OnceLock<Vec<Source>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let mut out = Vec::new();
        for (krate, dir, _) in CRATES {
            let root = repo().join(dir);
            let mut files = Vec::new();
            rust_files(&root, &mut files);
            files.sort();
            let mut scanned = Vec::new();
            let mut test_files = BTreeSet::new();
            for file in files {
                let rel = file.strip_prefix(&root).unwrap().to_owned();
                if rel.starts_with("bin") {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap();
                let (toks, test_mods) = product_tokens(&text);
                let dir_of_children = match rel.file_name().and_then(|n| n.to_str()) {
                    Some("mod.rs" | "lib.rs" | "main.rs") => rel.parent().unwrap().to_owned(),
                    _ => rel.with_extension(""),
                };
                for m in test_mods {
                    test_files.insert(dir_of_children.join(format!("{m}.rs")));
                    test_files.insert(dir_of_children.join(&m).join("mod.rs"));
                }
                let kept: BTreeSet<usize> = toks.iter().map(|t| t.1).collect();
                let product_lines = text
                    .lines()
                    .enumerate()
                    .filter(|(n, _)| kept.contains(&(n + 1)))
                    .map(|(n, l)| (n + 1, l.to_owned()))
                    .collect();
                scanned.push(Source {
                    krate,
                    rel,
                    toks,
                    product_lines,
                });
            }
            out.extend(scanned.into_iter().filter(|s| !test_files.contains(&s.rel)));
        }
        out
    })
}

/// Every module → the modules of its crate it uses, with the files that use each.
fn edges() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for s in sources() {
        let here = module_path(&s.rel);
        let Some(module) = here.first() else {
            continue;
        };
        for used in uses(&s.toks, &here) {
            if &used != module {
                out.entry(module.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .insert(format!("{}/{}", s.krate, s.rel.display()));
            }
        }
    }
    out
}

#[test]
fn the_crates_modules_are_the_ones_the_rules_place() {
    let allowed: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    let mut problems = Vec::new();
    for (krate, dir, modules) in CRATES {
        let lib = std::fs::read_to_string(repo().join(dir).join("lib.rs")).unwrap();
        let (toks, _) = product_tokens(&lib);
        let declared: BTreeSet<String> = toks
            .windows(3)
            .filter_map(|w| match w {
                [
                    (Tok::Ident(m), _),
                    (Tok::Ident(name), _),
                    (Tok::Punct(';'), _),
                ] if m == "mod" => Some(name.clone()),
                _ => None,
            })
            .collect();
        let listed: BTreeSet<String> = modules.iter().map(|m| m.to_string()).collect();
        if declared != listed {
            problems.push(format!(
                "{krate}'s lib.rs declares {declared:?}; CRATES lists {listed:?}"
            ));
        }
        for m in *modules {
            if !allowed.contains(m) {
                problems.push(format!(
                    "{krate}::{m} has no row in ALLOWED: place it in a layer"
                ));
            }
        }
    }
    let placed: Vec<&str> = CRATES.iter().flat_map(|c| c.2.iter().copied()).collect();
    for m in &allowed {
        if !placed.contains(m) {
            problems.push(format!("ALLOWED has {m}, which no crate has"));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn every_module_uses_only_what_the_architecture_allows() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let crate_of: BTreeMap<&str, &str> = CRATES
        .iter()
        .flat_map(|(k, _, ms)| ms.iter().map(move |m| (*m, *k)))
        .collect();
    let mut problems = Vec::new();
    for (module, used) in edges() {
        let may = allowed.get(module.as_str()).copied().unwrap_or_default();
        for (dependency, files) in used {
            if !crate_of.contains_key(dependency.as_str()) {
                continue; // a crate-root item (`crate::X` defined in lib.rs) or an extern crate
            }
            if !may.contains(&dependency.as_str()) {
                problems.push(format!(
                    "{module} must not use crate::{dependency} (in {})",
                    files.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for (module, may) in ALLOWED {
        for dep in *may {
            if crate_of.get(module) != crate_of.get(dep) {
                problems.push(format!(
                    "ALLOWED lets {module} use {dep} of another crate: Cargo's manifests say that"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn every_allowance_is_used() {
    let edges = edges();
    let unused: Vec<String> = ALLOWED
        .iter()
        .flat_map(|(m, may)| may.iter().map(move |d| (*m, *d)))
        .filter(|(m, d)| !edges.get(*m).is_some_and(|e| e.contains_key(*d)))
        .map(|(m, d)| format!("{m} -> {d}"))
        .collect();
    assert!(
        unused.is_empty(),
        "allowed but used by no product code (remove them from ALLOWED and ARCHITECTURE.md): {unused:?}"
    );
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

// ---- The layer table in ARCHITECTURE.md ------------------------------------------------------

/// The workspace as `cargo metadata` sees it.
pub struct Workspace {
    pub packages: Vec<Package>,
}

/// A workspace member: its name, binaries and normal (non-dev) dependencies.
pub struct Package {
    pub name: String,
    pub bins: Vec<String>,
    /// Integration test targets (`tests/…`).
    pub tests: Vec<String>,
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
            .current_dir(repo())
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
                tests: p["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "test"))
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

/// The first sentence of a file's `//!` doc, links unbracketed: the code map's line for it.
fn summary(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let para: Vec<&str> = text
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let para = para.join(" ").replace("[`", "`").replace("`]", "`");
    match para.find(". ") {
        Some(at) => para[..=at].to_owned(),
        None => para,
    }
}

/// ARCHITECTURE.md's layer table and code map, rendered from [`CRATES`], [`ALLOWED`], the
/// workspace's crate graph and each module's `//!` doc.
fn layer_table() -> String {
    let w = workspace();
    let members: BTreeSet<&str> = w.packages.iter().map(|p| p.name.as_str()).collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut out = String::from(
        "| crate (uses crates) | module | may use (same crate) | what it is |\n|---|---|---|---|\n",
    );
    let mut crates: Vec<(&str, &str, &[&str])> = CRATES.to_vec();
    // Binary-only packages (the function) are layers too.
    for p in &w.packages {
        if !CRATES.iter().any(|c| c.0 == p.name) {
            crates.push((p.name.as_str(), "", &[]));
        }
    }
    let code = |names: &mut dyn Iterator<Item = &str>| {
        let v: Vec<String> = names.map(|d| format!("`{d}`")).collect();
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.join(", ")
        }
    };
    for (krate, dir, modules) in crates {
        let package = w.packages.iter().find(|p| p.name == krate);
        let uses = code(
            &mut package
                .into_iter()
                .flat_map(|p| p.deps.iter())
                .map(String::as_str)
                .filter(|d| members.contains(d)),
        );
        let head = format!("`{krate}` ({uses})");
        if modules.is_empty() {
            let main = repo().join("crates").join(krate).join("src/main.rs");
            out.push_str(&format!("| {head} | (binary) | | {} |\n", summary(&main)));
        }
        for (n, m) in modules.iter().enumerate() {
            let may = code(&mut allowed.get(m).copied().unwrap_or_default().iter().copied());
            let file = repo().join(dir).join(format!("{m}.rs"));
            let file = if file.exists() {
                file
            } else {
                repo().join(dir).join(m).join("mod.rs")
            };
            let k = if n == 0 { head.as_str() } else { "" };
            out.push_str(&format!("| {k} | `{m}` | {may} | {} |\n", summary(&file)));
        }
    }
    out
}

#[test]
fn architecture_md_shows_the_layer_table_the_rules_make() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let (begin, end) = ("<!-- layers:begin -->\n", "<!-- layers:end -->");
    let expected = layer_table();
    let shown = doc
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(table, _)| table)
        .unwrap_or_else(|| {
            panic!("ARCHITECTURE.md needs a block between {begin:?} and {end:?}:\n{expected}")
        });
    assert!(
        shown == expected,
        "ARCHITECTURE.md's layer table differs from the rules; paste this between the markers:\n{expected}"
    );
}

/// ARCHITECTURE.md stays a short map (#24: at most 150 lines); detail lives in `//!` docs.
#[test]
fn architecture_md_stays_a_short_map() {
    let map = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let lines = map.lines().count();
    assert!(
        lines <= 150,
        "ARCHITECTURE.md has {lines} lines; keep it to 150 and move detail into `//!` docs"
    );
}

/// README's "Tests" section names every module of `tests/it` and nothing else as one.
#[test]
fn readme_lists_every_test_module() {
    let main = std::fs::read_to_string(repo().join("tests/it/main.rs")).unwrap();
    let modules: BTreeSet<String> = main
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|m| *m != "support")
        .map(str::to_owned)
        .collect();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let list = readme
        .split_once("one integration binary, `tests/it/`, whose")
        .and_then(|(_, rest)| rest.split_once("beside the tests, at the lowest"))
        .map(|(list, _)| list)
        .expect("README's Tests section lists tests/it's modules");
    let named: BTreeSet<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(
        named, modules,
        "README's test list vs tests/it/main.rs's modules"
    );
}

// ---- What only one module may do ---------------------------------------------------------------

/// Product lines, outside the files `allowed_in` (`crate/path`), that contain `needle`.
fn found_outside(needle: &str, allowed_in: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for s in sources() {
        let rel = format!("{}/{}", s.krate, s.rel.display());
        if allowed_in.contains(&rel.as_str()) {
            continue;
        }
        for (n, line) in &s.product_lines {
            if line.contains(needle) && !line.trim_start().starts_with("//") {
                hits.push(format!("{rel}:{n}: {}", line.trim()));
            }
        }
    }
    hits
}

#[test]
fn only_config_reads_the_environment() {
    let hits = found_outside("env::var", &["marquee-service/config.rs"]);
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn only_app_builds_aws_clients() {
    // Doctor is the exception: it runs with the admin's credentials and region, never the
    // function's, and asks control-plane services the function never calls.
    let doctor = ["marquee-service/app.rs", "marquee/doctor/checks.rs"];
    let mut hits = found_outside("Client::new(", &doctor);
    hits.extend(found_outside("Client::from_conf(", &doctor));
    hits.extend(found_outside("aws_config::defaults(", &doctor));
    // `load_defaults` would build the SDK's default HTTP client, which this build leaves out.
    hits.extend(found_outside("load_defaults(", &[]));
    // reqwest clients are not AWS clients, nor is `net`'s transport for the SDK.
    let net_transport =
        |h: &String| h.starts_with("marquee-core/net.rs:") && h.contains("SharedHttpClient::new(");
    hits.retain(|h| !h.contains("reqwest") && !net_transport(h));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Every HTTP client comes from `net`, on its TLS stack: reqwest is built without a crypto
/// provider of its own (a client built elsewhere panics unless `net` happened to install
/// *ring* earlier in the same process), and the SDK without its default client.
#[test]
fn only_net_builds_http_clients() {
    let net = ["marquee-core/net.rs"];
    let mut hits = found_outside("reqwest::Client::new(", &net);
    hits.extend(found_outside("reqwest::Client::builder(", &net));
    hits.extend(found_outside("reqwest::get(", &net));
    hits.extend(found_outside("aws_smithy_http_client::", &net));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// In Lambda, stdout is what CloudWatch Logs reads: `tracing`'s JSON lines and the metrics'
/// EMF lines, each whole. A stray `println!` in the libraries would be neither (and a local
/// server's terminal is the CLI's business).
#[test]
fn only_metrics_and_the_cli_write_to_stdout() {
    let mut hits = found_outside("stdout()", &["marquee-core/metrics.rs"]);
    hits.extend(found_outside("println!", &[]));
    hits.extend(found_outside("print!(", &[]));
    hits.retain(|h| !h.starts_with("marquee/cli/"));
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Without this lint a stray `pub` hides an item from rustc's dead-code lint again: in a
/// library every `pub` item counts as used.
#[test]
fn the_libraries_are_private_by_default() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
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
    for (krate, dir, _) in CRATES {
        let manifest = std::fs::read_to_string(repo().join(dir).join("../Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{krate} must take the workspace's lints"
        );
    }
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

/// The packages and features of one Cargo build, as `cargo tree` resolves it.
fn resolved(args: &[&str]) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree", "--locked", "--prefix", "none", "--format", "{p}|{f}",
        ])
        .args(args)
        .current_dir(repo())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim_end_matches(" (*)").split_once('|'))
        .map(|(p, f)| (p.to_owned(), f.to_owned()))
        .collect()
}

/// scripts/test.sh runs `cargo test`'s targets in groups side by side; a target it does not
/// name would never run in CI.
#[test]
fn the_test_script_runs_every_test_target() {
    // The groups: `--lib --bins --examples`, `--doc`, and each integration target by name,
    // split by filters.
    let script = std::fs::read_to_string(repo().join("scripts/test.sh")).unwrap();
    let runs: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("cargo test --no-fail-fast"))
        // The command alone: not what runs it in the background or records its status.
        .map(|l| {
            l.split(" ||")
                .next()
                .unwrap_or(l)
                .trim_end_matches('&')
                .trim_end()
        })
        .collect();
    for flags in ["--lib --bins --examples", "--doc"] {
        assert!(
            runs.iter().any(|l| l.ends_with(flags)),
            "scripts/test.sh runs `cargo test {flags}`: {runs:#?}"
        );
    }
    let targets: BTreeSet<&str> = workspace()
        .packages
        .iter()
        .flat_map(|p| p.tests.iter().map(String::as_str))
        .collect();
    let named: BTreeSet<&str> = runs
        .iter()
        .filter_map(|l| l.split("--test ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(named, targets, "every integration target, by name");
    // A group run with a filter has a twin that skips exactly that filter.
    for line in &runs {
        let Some(args) = line.split(" -- ").nth(1) else {
            continue;
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        match args.as_slice() {
            ["--skip", filter] => assert!(
                runs.iter().any(|l| l.ends_with(&format!(" -- {filter}"))),
                "`--skip {filter}` has a twin that runs {filter}: {runs:#?}"
            ),
            [filter] => assert!(
                runs.iter()
                    .any(|l| l.ends_with(&format!(" -- --skip {filter}"))),
                "`{filter}` has a twin that skips it: {runs:#?}"
            ),
            other => panic!("a test group this check cannot read: {other:?}"),
        }
    }
}

/// `cargo lambda watch` builds the function as `cargo build --bin marquee-lambda` would: its
/// own dependencies, no dev-dependencies. The test build resolves features over the whole
/// workspace, dev-dependencies included. Where a crate the function links gets a feature in one
/// and not the other, that crate and every crate above it compile twice — once for the tests and
/// once more while the stack tests wait for watch (44 crates, about 150 s of a CI run, when
/// aws-smithy-mocks' HTTP client and the SDKs' `test-util` drifted). Every crate the function
/// links has the same features in both.
#[test]
fn the_stack_runs_the_function_the_test_build_built() {
    let test_build = resolved(&["--workspace", "-e", "normal,build,dev"]);
    let function = resolved(&["-p", "marquee-lambda", "-e", "normal,build"]);
    let drifted: Vec<String> = function
        .iter()
        .filter_map(|(package, features)| {
            let tested = test_build.get(package)?;
            (tested != features)
                .then(|| format!("{package}: [{features}] in the function, [{tested}] in tests"))
        })
        .collect();
    assert!(
        function.len() > 100 && function.keys().any(|p| p.starts_with("marquee-lambda ")),
        "cargo tree did not list the function's packages: {function:?}"
    );
    assert!(
        drifted.is_empty(),
        "features differ between the function and the test build; declare them for the \
         function too (crates/marquee-lambda/Cargo.toml) or drop them from the tests:\n{}",
        drifted.join("\n")
    );
}

// ---- The scanner's own tests -----------------------------------------------------------------

fn scan(code: &str, here: &[&str]) -> BTreeSet<String> {
    let here: Vec<String> = here.iter().map(|s| s.to_string()).collect();
    uses(&product_tokens(code).0, &here)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_scanner_reads_paths_groups_and_super() {
    assert_eq!(
        scan(
            "use crate::slack::blocks;\nlet x = crate::store::poster_key(a, b);",
            &["http"]
        ),
        set(&["slack", "store"])
    );
    assert_eq!(
        scan(
            "use crate::{model::{self, ModelId}, poster, job::Job};",
            &["http"]
        ),
        set(&["model", "poster", "job"])
    );
    // From pipeline/approve.rs, `super::` is `pipeline` and `super::super::x` is `x`.
    assert_eq!(
        scan(
            "use super::records;\nuse super::super::store::Link;",
            &["pipeline", "approve"]
        ),
        set(&["pipeline", "store"])
    );
    // From pipeline/mod.rs, `super::x` is the crate's `x`.
    assert_eq!(
        scan("use super::state::Key;", &["pipeline"]),
        set(&["state"])
    );
    assert_eq!(scan("pub(crate) fn f() {}", &["http"]), set(&[]));
}

#[test]
fn the_scanner_ignores_comments_strings_and_tests() {
    let code = r##"
        /// See [`crate::pipeline`].
        /* crate::http, /* nested crate::app */ */
        use crate::model::ModelId;
        const S: &str = "crate::store";
        const R: &str = r#"crate::state "quoted""#;
        let c = '"'; let l: &'static str = x;
        #[cfg(test)]
        fn helper() -> crate::slack::X { crate::slack::x() }
        #[cfg(any(test, feature = "test-support"))]
        pub fn sample() { crate::job::sample() }
        #[cfg(test)]
        mod tests;
        fn after() { crate::genre::Style::Noir; }
        #[cfg(test)]
        mod tests {
            use crate::http::router;
        }
    "##;
    assert_eq!(scan(code, &["dispatch"]), set(&["model", "genre"]));
    assert_eq!(product_tokens(code).1, vec!["tests".to_owned()]);
}
