//! Architecture test: the modules under `src/` form layers, and code may only
//! reach down them, never up or sideways. It reads the source as plain text
//! (std only, no database), so a wrong `use` fails here, with the file named,
//! before it grows into a tangle that is hard to pull apart.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, top to bottom. The last layer holds the leaves, which use no
/// other crate module; a leaf file that does not exist yet is fine.
const LAYERS: &[&[&str]] = &[
    &["app"],
    &["cli"],
    &["config"],
    &["backfill"],
    &["store"],
    &["github"],
    &["report"],
    &["budget", "exit", "shutdown", "status", "text"],
];

/// Index of the leaf layer in `LAYERS`.
const LEAF_LAYER: usize = LAYERS.len() - 1;

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The order as `lib.rs` must state it: `app -> cli -> ... -> report`.
fn rendered_order() -> String {
    LAYERS[..LEAF_LAYER].iter().map(|layer| layer.join(", ")).collect::<Vec<_>>().join(" -> ")
}

/// `main.rs` is the binary above everything; `lib.rs` only declares modules.
fn is_crate_root(file: &str) -> bool {
    file == "main.rs" || file == "lib.rs"
}

/// Every `.rs` file under `src`, relative to it with `/` separators, sorted.
fn rust_files(src: &Path) -> Vec<String> {
    let (mut folders, mut files) = (vec![src.to_path_buf()], Vec::new());
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).expect("list a source folder") {
            let path = entry.expect("read a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(src).expect("file lies under src");
                files.push(relative.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    files.sort();
    files
}

/// The module a file defines: `a/b.rs` -> [a, b]; `a/mod.rs` and `a.rs` -> [a].
fn module_path(file: &str) -> Vec<String> {
    let mut segments: Vec<String> = file.trim_end_matches(".rs").split('/').map(String::from).collect();
    if segments.len() > 1 && segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// The code of a file as the library builds it: no comment lines (doc
/// comments may mention `crate::` freely) and nothing from `#[cfg(test)]`
/// on, since test modules sit at the end of the files here.
fn code(src: &Path, file: &str) -> String {
    let text = fs::read_to_string(src.join(file)).expect("read a source file");
    let lines = text.lines().take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"));
    lines.filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Expands the path or use-tree at the start of `text` into one segment list
/// per leaf: `crate::a::{b, c::D}` -> [crate, a, b], [crate, a, c, D].
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    expand_tree(text, &[], &mut paths);
    paths
}

/// Adds the leaves of the tree at the start of `text` to `paths`; returns the text after the tree.
fn expand_tree<'t>(text: &'t str, prefix: &[String], paths: &mut Vec<Vec<String>>) -> &'t str {
    let text = text.trim_start();
    if let Some(mut group) = text.strip_prefix('{') {
        loop {
            group = group.trim_start();
            match group.chars().next() {
                None => return group,
                Some('}') => return &group[1..],
                Some(',') => group = &group[1..],
                // Step over what a tree leaves behind, such as `as Alias`.
                Some(_) => group = expand_tree(group, prefix, paths).trim_start_matches(|c| c != ',' && c != '}'),
            }
        }
    }
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*')).unwrap_or(text.len());
    let mut path = prefix.to_vec();
    path.extend((end > 0).then(|| text[..end].to_string()));
    match text[end..].strip_prefix("::") {
        Some(rest) => expand_tree(rest, &path, paths),
        None => {
            paths.push(path);
            &text[end..]
        }
    }
}

/// Turns a path written inside `module` into segments from the crate root.
fn absolute(path: &[String], module: &[String]) -> Vec<String> {
    let from_root = path.first().is_some_and(|s| s == "crate");
    let mut segments = if from_root { Vec::new() } else { module.to_vec() };
    for segment in &path[usize::from(from_root)..] {
        match segment.as_str() {
            "super" => _ = segments.pop(),
            "self" | "*" => {}
            name => segments.push(name.to_string()),
        }
    }
    segments
}

/// Every `crate::`, `super::` and `self::` path in `code`, from the crate root.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for keyword in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(keyword) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::`, `Myself::`, ...: part of another path
            }
            found.extend(expand(&code[at..]).iter().map(|path| absolute(path, module)));
        }
    }
    found
}

/// Every import that reaches up or sideways, one line each.
fn layer_violations(src: &Path) -> Vec<String> {
    let mut violations = BTreeSet::new();
    for file in rust_files(src).into_iter().filter(|f| !is_crate_root(f)) {
        let module = module_path(&file);
        let owner = &module[0];
        let Some(own_layer) = layer_of(owner) else {
            violations.insert(format!("src/{file} belongs to {owner}, which is not in the layer order"));
            continue;
        };
        for target in references(&code(src, &file), &module) {
            let Some(used) = target.first().filter(|used| *used != owner) else { continue };
            let why = match layer_of(used) {
                Some(layer) if layer > own_layer => continue,
                None => format!("{used} is not in the layer order"),
                Some(_) if own_layer == LEAF_LAYER => format!("{owner} is a leaf, and leaves use no crate module"),
                Some(layer) if layer == own_layer => format!("{owner} shares a layer with {used}"),
                Some(_) => format!("{owner} sits below {used}"),
            };
            violations.insert(format!("src/{file} imports crate::{used} ({why})"));
        }
    }
    violations.into_iter().collect()
}

/// `lib.rs` tells readers the layer order, so it must match what is enforced.
fn doc_disagreement(src: &Path) -> Option<String> {
    let lib = fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let doc_lines = lib.lines().filter_map(|line| line.trim_start().strip_prefix("//!"));
    let doc = doc_lines.map(str::trim).collect::<Vec<_>>().join(" ").replace('`', "");
    let words: BTreeSet<&str> = doc.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    let leaves = LAYERS[LEAF_LAYER];
    let order = rendered_order();
    let agrees = doc.contains(&order) && leaves.iter().all(|leaf| words.contains(leaf));
    let wanted = format!("the doc must contain `{order}` and name the leaves {}", leaves.join(", "));
    (!agrees).then(|| format!("the module doc of src/lib.rs and this test disagree: {wanted}; it reads: {doc}"))
}

/// The file that defines `path` (segments from the crate root): walk the
/// segments while a file or folder exists, then follow a `pub use` that
/// re-exports the item, so that a re-export in `mod.rs` is no edge of its own.
fn defining_file(src: &Path, path: &[String], depth: usize) -> Option<String> {
    let (mut file, mut folder, mut rest) = (None, String::new(), path);
    while let Some((segment, tail)) = rest.split_first() {
        let candidates = [format!("{folder}{segment}.rs"), format!("{folder}{segment}/mod.rs")];
        let Some(found) = candidates.into_iter().find(|f| src.join(f).is_file()) else { break };
        (file, rest) = (Some(found), tail);
        folder = format!("{folder}{segment}/");
    }
    let file = file?; // an item of the crate root itself is no file edge
    let Some(item) = rest.first().filter(|_| depth < 8) else { return Some(file) };
    let code = code(src, &file);
    let uses = code.match_indices("pub use ").chain(code.match_indices("pub(crate) use "));
    let reexport = uses.flat_map(|(at, text)| expand(&code[at + text.len()..])).find(|p| p.last() == Some(item));
    let resolved = reexport.and_then(|path| defining_file(src, &absolute(&path, &module_path(&file)), depth + 1));
    resolved.or(Some(file))
}

/// Builds the graph from `crate::`/`super::`/`self::` paths; `mod x;` is no edge.
fn file_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src).into_iter().filter(|f| !is_crate_root(f)) {
        let references = references(&code(src, &file), &module_path(&file));
        let used = references.iter().filter_map(|path| defining_file(src, path, 0));
        let used = used.filter(|target| *target != file).collect();
        graph.insert(file, used);
    }
    graph
}

/// For each file, the other files whose items it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Circles found by a depth-first walk: one per edge back into the walk's path.
fn circles(graph: &Graph) -> Vec<String> {
    let mut seen = BTreeSet::new();
    graph.keys().flat_map(|start| walk(graph, start, &mut Vec::new(), &mut seen)).collect()
}

fn walk<'g>(graph: &'g Graph, file: &'g str, path: &mut Vec<&'g str>, seen: &mut BTreeSet<&'g str>) -> Vec<String> {
    if let Some(at) = path.iter().position(|f| *f == file) {
        let circle: Vec<String> = path[at..].iter().chain([&file]).map(|f| format!("src/{f}")).collect();
        return vec![circle.join(" -> ")];
    }
    if !seen.insert(file) {
        return Vec::new();
    }
    path.push(file);
    let found = graph.get(file).into_iter().flatten().flat_map(|next| walk(graph, next, path, seen)).collect();
    path.pop();
    found
}

#[test]
fn modules_only_use_lower_layers() {
    let src = source_root();
    let mut problems = layer_violations(&src);
    problems.extend(doc_disagreement(&src));
    assert!(problems.is_empty(), "the layer order is broken:\n{}\n", problems.join("\n"));
}

#[test]
fn no_circle_of_files() {
    let circles = circles(&file_graph(&source_root()));
    assert!(circles.is_empty(), "these files use each other in a circle:\n{}\n", circles.join("\n"));
}
