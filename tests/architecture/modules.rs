//! The crate's files, what each one imports and names, and where a path
//! leads: the `use` trees (groups, `self`, `as`, globs, `pub use`) and every
//! path in code (`pick::discover(..)`, `chunk::ChunkSettings`), from the crate
//! root or relative to the file's module, its child modules and its imports.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::lexer::library_tokens;

/// Resolving through imports stops this deep, so that a loop of aliases ends.
const MAX_DEPTH: usize = 8;

/// One leaf of a `use` tree: `use a::{b as c}` is the path [a, b], named `c`.
#[derive(Debug)]
struct Import {
    path: Vec<String>,
    /// The name it brings into scope; none for `as _` and for globs.
    name: Option<String>,
    glob: bool,
}

/// What a file says that matters to the layers.
#[derive(Debug, Default)]
struct Syntax {
    imports: Vec<Import>,
    /// Modules declared with `mod x;` or `mod x { … }`.
    modules: Vec<String>,
    /// Paths outside `use` (in code, types, patterns), as written.
    paths: Vec<Vec<String>>,
}

/// A path in a file: as written there, and from the crate root.
pub struct Reference {
    pub written: String,
    pub target: Vec<String>,
}

/// The library's source files, relative to `src` with `/` separators.
pub struct Tree {
    files: BTreeMap<String, Syntax>,
}

impl Tree {
    /// Every `.rs` file under `src`.
    pub fn read(src: &Path) -> Tree {
        let (mut folders, mut files) = (vec![src.to_path_buf()], Vec::new());
        while let Some(folder) = folders.pop() {
            for entry in fs::read_dir(&folder).expect("list a source folder") {
                let path = entry.expect("read a folder entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let relative = path.strip_prefix(src).expect("file lies under src");
                    let name = relative.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/");
                    files.push((name, fs::read_to_string(&path).expect("read a source file")));
                }
            }
        }
        Tree::planted(files)
    }

    /// A tree from (file, text) pairs, as tests plant it.
    pub fn planted<F: Into<String>, T: AsRef<str>>(files: impl IntoIterator<Item = (F, T)>) -> Tree {
        let files = files.into_iter().map(|(file, text)| (file.into(), parse(&library_tokens(text.as_ref()))));
        Tree { files: files.collect() }
    }

    /// The files of modules, sorted; the crate roots only declare modules.
    pub fn module_files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str).filter(|file| !is_crate_root(file))
    }

    /// Every path a file uses, from the crate root: what its `use`s import
    /// and what its code names through the crate, its modules or its imports.
    /// Paths into other crates are left out.
    pub fn references(&self, file: &str) -> Vec<Reference> {
        let Some(syntax) = self.files.get(file) else { return Vec::new() };
        let imported = syntax.imports.iter().map(|import| &import.path);
        let paths = imported.chain(&syntax.paths);
        let resolved = paths.filter_map(|path| {
            let written = path.join("::").trim_end_matches("::self").to_string();
            Some(Reference { written, target: self.resolve(file, path, 0)? })
        });
        resolved.collect()
    }

    /// The file that defines the item at `path` (from the crate root): the
    /// deepest file along the path, or, where that file only imports the
    /// item (a `use` or `pub use`), the file it imports it from.
    pub fn defining_file(&self, path: &[String]) -> Option<String> {
        self.defining_file_at(path, 0)
    }

    fn defining_file_at(&self, path: &[String], depth: usize) -> Option<String> {
        // An item of the crate root itself is no file edge.
        let taken = (1..=path.len()).take_while(|taken| self.file_of(&path[..*taken]).is_some()).last()?;
        let (file, rest) = (self.file_of(&path[..taken])?, &path[taken..]);
        let Some((item, tail)) = rest.split_first().filter(|_| depth < MAX_DEPTH) else { return Some(file) };
        let imported = self.imported(&file, item, depth).map(|target| [target.as_slice(), tail].concat());
        imported.and_then(|target| self.defining_file_at(&target, depth + 1)).or(Some(file))
    }

    /// The file of a module, given as segments from the crate root.
    fn file_of(&self, module: &[String]) -> Option<String> {
        let folder = module.join("/");
        let candidates = [format!("{folder}.rs"), format!("{folder}/mod.rs")];
        candidates.into_iter().filter(|_| !module.is_empty()).find(|file| self.files.contains_key(file))
    }

    /// `path` as written in `file`, from the crate root; none if it leads
    /// out of the crate (`std::`, `sqlx::`, a name from the prelude).
    fn resolve(&self, file: &str, path: &[String], depth: usize) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        let module = module_path(file);
        match first.as_str() {
            "crate" | "self" | "super" => Some(absolute(path, &module)),
            _ if self.child_modules(file).contains(first) => Some(absolute(path, &module)),
            _ => self.imported(file, first, depth).map(|target| [target.as_slice(), rest].concat()),
        }
    }

    /// What `name` stands for in `file` through its `use`s, from the crate root.
    fn imported(&self, file: &str, name: &str, depth: usize) -> Option<Vec<String>> {
        let syntax = self.files.get(file)?;
        if depth >= MAX_DEPTH {
            return None;
        }
        let named = syntax.imports.iter().find(|import| import.name.as_deref() == Some(name));
        if let Some(import) = named {
            return self.resolve(file, &import.path, depth + 1);
        }
        // A glob brings in the child modules and the imports of the module it
        // names (and its items, which are no further file to follow).
        let globs = syntax.imports.iter().filter(|import| import.glob);
        let sources = globs.filter_map(|glob| self.resolve(file, &glob.path, depth + 1));
        sources.filter_map(|source| self.file_of(&source).map(|f| (source, f))).find_map(|(source, from)| {
            let child = self.child_modules(&from).iter().any(|child| child == name);
            let child = child.then(|| [source.as_slice(), &[name.to_string()]].concat());
            child.or_else(|| self.imported(&from, name, depth + 1))
        })
    }

    /// A file's child modules: those it declares and those in its folder.
    fn child_modules(&self, file: &str) -> Vec<String> {
        let module = module_path(file);
        let declared = self.files.get(file).into_iter().flat_map(|syntax| syntax.modules.iter().cloned());
        let in_folder = self.files.keys().map(|other| module_path(other)).filter_map(|mut other| {
            let child = other.len() == module.len() + 1 && other.starts_with(&module);
            other.pop().filter(|_| child)
        });
        declared.chain(in_folder).collect()
    }
}

/// `main.rs` is the binary above everything; `lib.rs` only declares modules.
pub fn is_crate_root(file: &str) -> bool {
    file == "main.rs" || file == "lib.rs"
}

/// The module a file defines: `a/b.rs` -> [a, b]; `a/mod.rs` and `a.rs` -> [a]; `lib.rs` -> [].
pub fn module_path(file: &str) -> Vec<String> {
    if is_crate_root(file) {
        return Vec::new();
    }
    let mut segments: Vec<String> = file.trim_end_matches(".rs").split('/').map(String::from).collect();
    if segments.len() > 1 && segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// Turns a path written inside `module` into segments from the crate root.
fn absolute(path: &[String], module: &[String]) -> Vec<String> {
    let from_root = path.first().is_some_and(|s| s == "crate");
    let mut segments = if from_root { Vec::new() } else { module.to_vec() };
    for segment in &path[usize::from(from_root)..] {
        match segment.as_str() {
            "super" => _ = segments.pop(),
            "self" => {}
            name => segments.push(name.to_string()),
        }
    }
    segments
}

fn is_name(token: &str) -> bool {
    token.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The imports, modules and paths in a file's tokens.
fn parse(tokens: &[String]) -> Syntax {
    let mut syntax = Syntax::default();
    let at = |i: usize| tokens.get(i).map_or("", String::as_str);
    let mut i = 0;
    while i < tokens.len() {
        match at(i) {
            "use" => i = use_tree(tokens, i + 1, Vec::new(), &mut syntax.imports) + 1,
            "mod" if is_name(at(i + 1)) => {
                syntax.modules.push(at(i + 1).to_string());
                i += 2;
            }
            // A path starts at a name before `::` that no `::`, `.` or `$` precedes
            // (`a::b::c` once, not `b::c`; no method's turbofish; no `$crate`).
            token
                if is_name(token)
                    && at(i + 1) == "::"
                    && !matches!(i.checked_sub(1).map(at), Some("::" | "." | "$")) =>
            {
                let mut path = vec![token.to_string()];
                while at(i + 1) == "::" && is_name(at(i + 2)) {
                    path.push(at(i + 2).to_string());
                    i += 2;
                }
                syntax.paths.push(path);
                i += 1;
            }
            _ => i += 1,
        }
    }
    syntax
}

/// Reads the use tree at `i` under `prefix` into `imports`; returns the index
/// of the token that ends it (`,`, `}` or `;`).
fn use_tree(tokens: &[String], mut i: usize, prefix: Vec<String>, imports: &mut Vec<Import>) -> usize {
    let at = |i: usize| tokens.get(i).map_or(";", String::as_str);
    let mut path = prefix;
    if at(i) == "::" {
        (path, i) = (vec!["::".to_string()], i + 1); // `::name` is another crate
    }
    loop {
        match at(i) {
            "{" => {
                i += 1;
                while !matches!(at(i), "}" | ";") {
                    i = if at(i) == "," { i + 1 } else { use_tree(tokens, i, path.clone(), imports) };
                }
                return i + usize::from(at(i) == "}");
            }
            "*" => {
                imports.push(Import { path, name: None, glob: true });
                return i + 1;
            }
            name if is_name(name) => {
                path.push(name.to_string());
                if at(i + 1) == "::" {
                    i += 2;
                    continue;
                }
                let own = if name == "self" { path.iter().rev().nth(1) } else { path.last() };
                let name = if at(i + 1) == "as" {
                    Some(at(i + 2)).filter(|alias| *alias != "_")
                } else {
                    own.map(String::as_str)
                };
                let name = name.map(String::from);
                let end = if at(i + 1) == "as" { i + 3 } else { i + 1 };
                imports.push(Import { path, name, glob: false });
                return end;
            }
            _ => return i,
        }
    }
}
