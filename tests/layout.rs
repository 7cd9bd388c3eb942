//! The layout of `src/` as docs/ARCHITECTURE.md draws it: every file imports only from its own
//! layer or the layers below, and no two files import each other, directly or around a circle.
//!
//! Imports are read from the text: `use` declarations (braces expanded) and paths written
//! inline (`crate::query::...`, `super::...`), outside `#[cfg(test)]` modules. A path into a
//! `mod.rs` that re-exports an item counts as an import of the file that defines the item;
//! a `mod.rs`'s own `pub use` lines are its public face, not dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; a file may import from its own top-level module or from a module
/// of a lower layer. Modules on one layer (query and store) do not import each other.
const LAYERS: &[&[&str]] = &[
    &["middleware", "text"],
    &["telemetry"],
    &["domain"],
    &["query", "store"],
    &["changes", "seed"],
    &["api"],
    &["config"],
    &["server"],
];

/// Within `query`, the same rule between its parts.
const QUERY_LAYERS: &[&str] = &["model", "listing", "analytics"];

/// A source file as a module path: `src/query/model/cube.rs` is `["query", "model", "cube"]`.
type Module = Vec<String>;

struct Source {
    module: Module,
    is_mod_rs: bool,
    /// The file's text without its `#[cfg(test)]` modules and comments.
    code: String,
}

fn sources() -> BTreeMap<PathBuf, Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path == root.join("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_mod_rs = module.last().is_some_and(|m| m == "mod");
            if is_mod_rs || module == ["lib"] || module == ["main"] {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            files.insert(
                path,
                Source {
                    module,
                    is_mod_rs,
                    code: without_tests_and_comments(&text),
                },
            );
        }
    }
    files
}

fn without_tests_and_comments(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `use` declaration's text, with whether it is a `pub use`.
fn use_declarations(code: &str) -> Vec<(bool, String)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let prefix = before[line_start..].trim();
        let is_declaration = prefix.is_empty() || prefix.starts_with("pub");
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        if is_declaration {
            found.push((prefix.starts_with("pub"), rest[at + 4..end].to_owned()));
        }
        rest = &rest[end.min(rest.len())..];
        if rest.starts_with(';') {
            rest = &rest[1..];
        }
    }
    found
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    // Drop renames (`Foo as Bar`), keeping the punctuation after the new name.
    let mut tokens = tree.split_whitespace();
    let mut kept = String::new();
    while let Some(token) = tokens.next() {
        if token == "as" {
            let alias = tokens.next().unwrap_or_default();
            kept.extend(
                alias
                    .chars()
                    .filter(|c| !(c.is_alphanumeric() || *c == '_')),
            );
        } else {
            kept.push_str(token);
        }
    }
    let tree = kept;
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand)
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// Paths written inline, such as `crate::query::analytics::summarize(`.
fn inline_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let preceded = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !preceded {
                paths.push(tail[..end].trim_end_matches(':').to_owned());
            }
            rest = &tail[end..];
        }
    }
    paths
}

/// What a path written in `module` names, as segments from the crate root; `None` for paths
/// outside the crate.
fn absolute(path: &str, module: &Module) -> Option<Vec<String>> {
    let mut segments: Vec<&str> = path.split("::").collect();
    let mut base: Vec<String> = match *segments.first()? {
        "crate" => Vec::new(),
        "self" => module.clone(),
        // A file's module excludes `mod`, so `super` is one step up for mod.rs files too.
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    segments.remove(0);
    while segments.first() == Some(&"super") {
        base.pop();
        segments.remove(0);
    }
    base.extend(segments.iter().map(|s| s.to_string()));
    Some(base)
}

struct Tree {
    /// Every module with the file that holds it.
    files: BTreeMap<Module, PathBuf>,
    /// A `mod.rs`'s re-exports: (its module, the item's name) to the module the item comes from.
    reexports: BTreeMap<(Module, String), Vec<String>>,
}

impl Tree {
    /// The file that defines what `path` (absolute segments) names.
    fn resolve(&self, path: &[String]) -> Option<Module> {
        for len in (0..=path.len()).rev() {
            let module = path[..len].to_vec();
            if !self.files.contains_key(&module) {
                continue;
            }
            if let Some(item) = path.get(len)
                && let Some(target) = self.reexports.get(&(module.clone(), item.clone()))
            {
                return self.resolve(target);
            }
            return Some(module);
        }
        None
    }
}

fn layer_of(module: &Module) -> Option<(usize, &str)> {
    let top = module.first()?;
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top.as_str()))
        .map(|rank| (rank, top.as_str()))
}

/// Whether a file of `from` may import a file of `to`, by the layers.
fn allowed(from: &Module, to: &Module) -> bool {
    let (Some((from_rank, from_top)), Some((to_rank, to_top))) = (layer_of(from), layer_of(to))
    else {
        return true;
    };
    if from_top != to_top {
        return to_rank < from_rank;
    }
    if from_top == "query" {
        let part = |m: &Module| {
            m.get(1)
                .and_then(|p| QUERY_LAYERS.iter().position(|q| q == p))
        };
        if let (Some(from_part), Some(to_part)) = (part(from), part(to)) {
            return to_part <= from_part;
        }
    }
    true
}

fn imports() -> BTreeMap<Module, BTreeSet<Module>> {
    let sources = sources();
    let mut tree = Tree {
        files: sources
            .iter()
            .map(|(path, s)| (s.module.clone(), path.clone()))
            .collect(),
        reexports: BTreeMap::new(),
    };
    for source in sources
        .values()
        .filter(|s| s.is_mod_rs || s.module.is_empty())
    {
        for (public, declaration) in use_declarations(&source.code) {
            if !public {
                continue;
            }
            for path in expand(&declaration) {
                let path = if path.starts_with("crate::") || path.starts_with("super::") {
                    path
                } else {
                    format!("self::{path}")
                };
                if let Some(target) = absolute(&path, &source.module) {
                    let name = target.last().cloned().unwrap_or_default();
                    tree.reexports.insert((source.module.clone(), name), target);
                }
            }
        }
    }
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for source in sources.values() {
        let mut paths: Vec<String> = use_declarations(&source.code)
            .into_iter()
            .filter(|(public, _)| !(*public && source.is_mod_rs))
            .flat_map(|(_, declaration)| expand(&declaration))
            .collect();
        paths.extend(inline_paths(&source.code));
        let edges = graph.entry(source.module.clone()).or_default();
        for path in paths {
            let local =
                if source.is_mod_rs && !path.starts_with("crate::") && !path.starts_with("super::")
                {
                    format!("self::{path}")
                } else {
                    path
                };
            let Some(target) = absolute(&local, &source.module) else {
                continue;
            };
            if let Some(file) = tree.resolve(&target)
                && file != source.module
            {
                edges.insert(file);
            }
        }
    }
    graph
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "lib".into()
    } else {
        module.join("::")
    }
}

#[test]
fn no_file_imports_from_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (from, targets) in imports() {
        for to in targets {
            if !allowed(&from, &to) {
                upward.push(format!("{} imports {}", name(&from), name(&to)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_cycle_between_files() {
    let graph = imports();
    // Depth-first search, reporting the first circle found from each file.
    let mut cycles = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    let mut circle: Vec<String> = path.iter().map(name).collect();
                    circle.push(name(start));
                    cycles.insert(circle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_reader_sees_a_known_upward_import_and_a_cycle() {
    // The checks above would pass vacuously if the reader found no imports at all.
    let graph = imports();
    let of = |m: &str| graph.get(&m.split("::").map(String::from).collect::<Module>());
    let api = of("api::resources").expect("api/resources.rs is read");
    assert!(
        api.contains(&vec!["changes".to_owned(), "plan".to_owned()]),
        "{api:?}"
    );
    assert!(!allowed(&vec!["store".into()], &vec!["changes".into()]));
    assert!(!allowed(
        &vec!["query".into(), "model".into()],
        &vec!["query".into(), "listing".into(), "fields".into()]
    ));
    assert!(!allowed(&vec!["query".into()], &vec!["store".into()]));
}
