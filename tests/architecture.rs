//! Architecture test: the modules under `src/` form layers, and code may only
//! reach down them, never up or sideways, and no files use each other in a
//! circle. It reads the source as text (std only, no database) and follows
//! every path: `crate::`, `super::`, `self::`, child modules named directly
//! (`use chunk::…`, `pick::discover(..)`), imports and their aliases, in
//! `use` trees and in code. A wrong `use` fails here, with the file named,
//! before it grows into a tangle that is hard to pull apart. Text cannot
//! tell which file a method called on a value lives in (`self.record(..)`
//! with its `impl` in `tally.rs`): such calls are no edge.

#[path = "architecture/lexer.rs"]
mod lexer;
#[path = "architecture/modules.rs"]
mod modules;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use modules::{module_path, Tree};

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

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The order as `lib.rs` must state it: `app -> cli -> ... -> report`.
fn rendered_order(layers: &[&[&str]]) -> String {
    let above_leaves = &layers[..layers.len() - 1];
    above_leaves.iter().map(|layer| layer.join(", ")).collect::<Vec<_>>().join(" -> ")
}

/// Every import that reaches up or sideways in `layers` (top to bottom, the
/// leaves last), one line each.
fn layer_violations(tree: &Tree, layers: &[&[&str]]) -> Vec<String> {
    let layer_of = |module: &str| layers.iter().position(|layer| layer.contains(&module));
    let leaf_layer = layers.len() - 1;
    let mut violations = BTreeSet::new();
    for file in tree.module_files() {
        let owner = &module_path(file)[0];
        let Some(own_layer) = layer_of(owner) else {
            violations.insert(format!("src/{file} belongs to {owner}, which is not in the layer order"));
            continue;
        };
        for reference in tree.references(file) {
            let Some(used) = reference.target.first().filter(|used| *used != owner) else { continue };
            let why = match layer_of(used) {
                Some(layer) if layer > own_layer => continue,
                None => format!("{used} is not in the layer order"),
                Some(_) if own_layer == leaf_layer => format!("{owner} is a leaf, and leaves use no crate module"),
                Some(layer) if layer == own_layer => format!("{owner} shares a layer with {used}"),
                Some(_) => format!("{owner} sits below {used}"),
            };
            violations.insert(format!("src/{file} imports crate::{used} through {} ({why})", reference.written));
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
    let leaves = LAYERS[LAYERS.len() - 1];
    let order = rendered_order(LAYERS);
    let agrees = doc.contains(&order) && leaves.iter().all(|leaf| words.contains(leaf));
    let wanted = format!("the doc must contain `{order}` and name the leaves {}", leaves.join(", "));
    (!agrees).then(|| format!("the module doc of src/lib.rs and this test disagree: {wanted}; it reads: {doc}"))
}

/// For each file, the other files whose items it uses, each with the first
/// path that uses it as written; `mod x;` is no edge.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn file_graph(tree: &Tree) -> Graph {
    let edges = |file: &str| {
        let mut edges = BTreeMap::new();
        for reference in tree.references(file) {
            if let Some(used) = tree.defining_file(&reference.target).filter(|used| used != file) {
                edges.entry(used).or_insert(reference.written);
            }
        }
        edges
    };
    tree.module_files().map(|file| (file.to_string(), edges(file))).collect()
}

/// Circles found by a depth-first walk: one per edge back into the walk's
/// path, written `src/a.rs (uses b::X) -> src/b.rs (uses super::Y) -> src/a.rs`.
fn circles(graph: &Graph) -> Vec<String> {
    let mut seen = BTreeSet::new();
    graph.keys().flat_map(|start| walk(graph, start, &mut Vec::new(), &mut seen)).collect()
}

fn walk<'g>(graph: &'g Graph, file: &'g str, path: &mut Vec<&'g str>, seen: &mut BTreeSet<&'g str>) -> Vec<String> {
    if let Some(at) = path.iter().position(|f| *f == file) {
        let steps = path[at..].iter().zip(path[at + 1..].iter().chain([&file]));
        let steps = steps.map(|(from, to)| format!("src/{from} (uses {}) -> ", graph[*from][*to]));
        return vec![format!("{}src/{file}", steps.collect::<String>())];
    }
    if !seen.insert(file) {
        return Vec::new();
    }
    path.push(file);
    let next = graph.get(file).into_iter().flat_map(|edges| edges.keys());
    let found = next.flat_map(|next| walk(graph, next, path, seen)).collect();
    path.pop();
    found
}

#[test]
fn modules_only_use_lower_layers() {
    let src = source_root();
    let mut problems = layer_violations(&Tree::read(&src), LAYERS);
    problems.extend(doc_disagreement(&src));
    assert!(problems.is_empty(), "the layer order is broken:\n{}\n", problems.join("\n"));
}

#[test]
fn no_circle_of_files() {
    let circles = circles(&file_graph(&Tree::read(&source_root())));
    assert!(circles.is_empty(), "these files use each other in a circle:\n{}\n", circles.join("\n"));
}

/// A planted crate's files under `src/`: (path, text).
type Files = &'static [(&'static str, &'static str)];

/// Planted crates whose files use each other only through relative paths
/// (a child module named directly, `super::`, a glob, an alias), each with
/// the circle the checker must report.
const PLANTED_CIRCLES: &[(&str, Files, &str)] = &[
    (
        "a use of a child module named directly",
        &[("run/mod.rs", "mod chunk;\nuse chunk::Settings;\npub struct Options;"), ("run/chunk.rs", "use super::Options;\npub struct Settings;")],
        "src/run/chunk.rs (uses super::Options) -> src/run/mod.rs (uses chunk::Settings) -> src/run/chunk.rs",
    ),
    (
        "a call through a child module, a type through the crate root",
        &[
            ("run/mod.rs", "mod pick;\npub struct Options;\npub fn go() { pick::discover(1); }"),
            ("run/pick.rs", "pub fn discover(_: u8) -> crate::run::Options { todo!() }"),
        ],
        "src/run/mod.rs (uses pick::discover) -> src/run/pick.rs (uses crate::run::Options) -> src/run/mod.rs",
    ),
    (
        "a nested group with `self as`, a type in a signature",
        &[
            ("run/mod.rs", "mod chunk;\nuse self::{chunk::{self as c}};\npub struct Options;\nfn f(_: c::Settings) {}"),
            ("run/chunk.rs", "pub struct Settings(pub super::Options);"),
        ],
        "src/run/chunk.rs (uses super::Options) -> src/run/mod.rs (uses self::chunk) -> src/run/chunk.rs",
    ),
    (
        "a `pub use` from a grandchild, which names its grandparent `super::super`",
        &[
            ("run/mod.rs", "mod deep;\npub use deep::inner::Item;\npub struct Options;"),
            ("run/deep/mod.rs", "pub mod inner;"),
            ("run/deep/inner.rs", "pub struct Item(super::super::Options);"),
        ],
        "src/run/deep/inner.rs (uses super::super::Options) -> src/run/mod.rs (uses deep::inner::Item) -> src/run/deep/inner.rs",
    ),
    (
        "a sibling brought in by a glob of the parent",
        &[
            ("run/mod.rs", "mod a;\nmod b;"),
            ("run/a.rs", "use super::*;\npub fn f() { b::g() }"),
            ("run/b.rs", "pub fn g() { super::a::f() }"),
        ],
        "src/run/a.rs (uses b::g) -> src/run/b.rs (uses super::a::f) -> src/run/a.rs",
    ),
    (
        "a child module renamed with `as`, then called",
        &[
            ("run/mod.rs", "mod chunk;\nuse chunk as c;\npub struct Options;\npub fn go() -> u8 { c::size() }"),
            ("run/chunk.rs", "pub fn size() -> u8 {\n    let _ = super::Options;\n    1\n}"),
        ],
        "src/run/chunk.rs (uses super::Options) -> src/run/mod.rs (uses chunk) -> src/run/chunk.rs",
    ),
];

/// Planted crates that use relative paths without a circle.
const PLANTED_WITHOUT_CIRCLES: &[(&str, Files)] = &[
    (
        "the parent names its child only in comments, strings, characters and tests",
        &[
            (
                "run/mod.rs",
                "mod chunk;\n// chunk::Settings\n/* chunk::Settings /* nested */ chunk::Settings */\n\
                 pub const S: &str = \"chunk::Settings\";\npub const R: &str = r#\"chunk::\"Settings\"#;\n\
                 pub fn quote<'a>(_: &'a str) -> char { '\\'' }\npub struct Options;\n\
                 #[cfg(test)]\nmod tests {\n    use super::chunk::Settings;\n}",
            ),
            ("run/chunk.rs", "use super::Options;\npub struct Settings(Options);"),
        ],
    ),
    (
        "a re-export leads to the file that defines the item",
        &[
            ("run/mod.rs", "mod chunk;\nmod options;\npub use options::Options;\nuse chunk::Settings;"),
            ("run/options.rs", "pub struct Options;"),
            ("run/chunk.rs", "use super::Options;\npub struct Settings(Options);"),
        ],
    ),
    (
        "other crates and the prelude, named like nothing here",
        &[
            ("run/mod.rs", "mod chunk;\nuse std::fmt;\npub fn f() -> String { String::new() }"),
            ("run/chunk.rs", "fn g() { super::f(); }"),
        ],
    ),
];

fn planted(files: Files) -> Tree {
    Tree::planted(files.iter().copied().chain([("lib.rs", "pub mod run;")]))
}

#[test]
fn planted_circles_through_relative_paths_are_found() {
    for (what, files, circle) in PLANTED_CIRCLES {
        assert_eq!(circles(&file_graph(&planted(files))), [*circle], "{what}");
    }
}

#[test]
fn planted_trees_without_circles_pass() {
    for (what, files) in PLANTED_WITHOUT_CIRCLES {
        assert_eq!(circles(&file_graph(&planted(files))), Vec::<String>::new(), "{what}");
    }
}

/// Planted crates under the layers `top -> low`, with the leaf `leaf`.
const PLANTED_LAYERS: &[(&str, Files, &[&str])] = &[
    (
        "a leaf imports through a nested group with `self as`",
        &[("leaf.rs", "use crate::{low::{self as l}};")],
        &["src/leaf.rs imports crate::low through crate::low (leaf is a leaf, and leaves use no crate module)"],
    ),
    (
        "a lower layer calls up through an alias",
        &[("low.rs", "use crate::top as t;\nfn f() { t::go() }")],
        &[
            "src/low.rs imports crate::top through crate::top (low sits below top)",
            "src/low.rs imports crate::top through t::go (low sits below top)",
        ],
    ),
    ("an upper layer reaches down", &[("top.rs", "use crate::low::x;\nfn f() { super::leaf::y() }")], &[]),
];

#[test]
fn planted_imports_up_the_layers_are_found() {
    let layers: &[&[&str]] = &[&["top"], &["low"], &["leaf"]];
    for (what, files, found) in PLANTED_LAYERS {
        assert_eq!(layer_violations(&Tree::planted(files.iter().copied()), layers), *found, "{what}");
    }
}
