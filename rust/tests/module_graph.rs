//! No circles between modules: reads the paths each module of `rust/src` names (`use crate::...`,
//! `use super::...`, `crate::a::b` inside code), lifts each edge to the two sibling modules it
//! joins (an edge from `sim::model` to `sim::fleet` joins `model` and `fleet` under `sim`; one
//! from `sweep::icmp` to `engine::pacing` joins `sweep` and `engine` under the crate) and fails
//! on any cycle among siblings, naming the lines that make it.
//!
//! A line-level reader, not a Rust parser: comments and string literals are blanked first, inline
//! `mod name { ... }` blocks are followed by their braces, `#[path = "x_tests.rs"] mod tests;`
//! maps a file to its module. Edges between a module and its own ancestors (`use super::*`,
//! `pub use` re-exports in a `mod.rs`) are not circles and are ignored, and so are the edges of
//! `#[cfg(test)]` modules: a test is a user of the modules it drives, not a part of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A module path under the crate root: `[]` is the crate, `["sim", "model"]` is `sim::model`.
type Module = Vec<String>;

/// One reference from a module to another, with where it was written.
#[derive(Debug, Clone)]
struct Edge {
    from: Module,
    to: Module,
    at: String,
}

/// One source file: its module and text.
struct Source {
    module: Module,
    name: String,
    text: String,
    /// A `#[cfg(test)]` module (or one inside it).
    test: bool,
}

/// True if the attributes just before byte `at` of `text` (a `mod` item) include `#[cfg(test)]`.
fn cfg_test_before(text: &str, at: usize) -> bool {
    text[..at]
        .lines()
        .rev()
        .map(str::trim)
        .take_while(|l| l.starts_with("#[") || l.is_empty())
        .any(|l| l == "#[cfg(test)]")
}

fn display(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

/// The text with comments and the insides of string and char literals replaced by spaces
/// (newlines kept, so line numbers stay right).
fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let keep_newlines = |bytes: &[u8], out: &mut Vec<u8>| {
        out.extend(bytes.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2);
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat(b'#').take(hashes)).collect();
            let open = 2 + hashes;
            let end = rest[open..]
                .windows(close.len())
                .position(|w| w == close)
                .map_or(rest.len(), |p| open + p + close.len());
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}') — not a lifetime ('a) or a label.
            let end = if rest.get(1) == Some(&b'\\') {
                rest.iter().skip(3).position(|&c| c == b'\'').map(|p| p + 4)
            } else if rest.get(2) == Some(&b'\'') {
                Some(3)
            } else if let Some(&lead @ 0xc0..) = rest.get(1) {
                // One multi-byte character.
                let len = if lead < 0xe0 {
                    2
                } else if lead < 0xf0 {
                    3
                } else {
                    4
                };
                (rest.get(1 + len) == Some(&b'\'')).then_some(2 + len)
            } else {
                None
            };
            if let Some(end) = end {
                keep_newlines(&rest[..end], &mut out);
                i += end;
            } else {
                out.push(b'\'');
                i += 1;
            }
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every path of a `use` tree (`a::{b, c::{self, d}}` gives `a::b`, `a::c`, `a::c::d`), as
/// segments; `as` renames and globs end a path.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &[u8], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        loop {
            while *i < s.len() && s[*i].is_ascii_whitespace() {
                *i += 1;
            }
            if *i >= s.len() {
                break;
            }
            if s[*i] == b'{' {
                *i += 1;
                loop {
                    parse(s, i, &path, out);
                    while *i < s.len() && (s[*i].is_ascii_whitespace() || s[*i] == b',') {
                        *i += 1;
                    }
                    if *i >= s.len() || s[*i] == b'}' {
                        *i += 1;
                        return;
                    }
                }
            }
            let start = *i;
            while *i < s.len() && (is_ident(s[*i]) || s[*i] == b'*') {
                *i += 1;
            }
            let word = String::from_utf8_lossy(&s[start..*i]).into_owned();
            match word.as_str() {
                // `a::{self}` is `a` itself; a leading `self` stays (relative to the scope).
                "" | "*" => {}
                "self" if !path.is_empty() => {}
                _ => path.push(word),
            }
            while *i < s.len() && s[*i].is_ascii_whitespace() {
                *i += 1;
            }
            if s[*i..].starts_with(b"::") {
                *i += 2;
                continue;
            }
            // `as name`: skip the rename.
            if s[*i..].starts_with(b"as") && s.get(*i + 2).is_some_and(u8::is_ascii_whitespace) {
                *i += 2;
                while *i < s.len() && (s[*i].is_ascii_whitespace() || is_ident(s[*i])) {
                    *i += 1;
                }
            }
            break;
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    parse(tree.as_bytes(), &mut i, &[], &mut out);
    out
}

/// The module a path names, relative to `scope`: the longest known module it starts with.
fn resolve(path: &[String], scope: &[String], known: &BTreeSet<Module>) -> Option<Module> {
    let (mut base, rest) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("self") => (scope.to_vec(), &path[1..]),
        Some("super") => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            if supers > scope.len() {
                return None;
            }
            (scope[..scope.len() - supers].to_vec(), &path[supers..])
        }
        // A child module named without `self::` (2018 paths).
        Some(first) => {
            let mut child = scope.to_vec();
            child.push(first.to_owned());
            if !known.contains(&child) {
                return None;
            }
            (scope.to_vec(), path)
        }
        None => return None,
    };
    for seg in rest {
        base.push(seg.clone());
        if !known.contains(&base) {
            base.pop();
            break;
        }
    }
    Some(base)
}

/// The edges of one file whose (file-level) module is `module`; inline modules found on the way
/// are added to `known`.
fn edges_of(source: &Source, known: &mut BTreeSet<Module>) -> Vec<Edge> {
    let text = blank(&source.text);
    let b = text.as_bytes();
    let mut edges = Vec::new();
    // Inline modules open now: (module, brace depth at which it closes, a test module).
    let mut scopes: Vec<(Module, usize, bool)> = vec![(source.module.clone(), 0, source.test)];
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut i = 0;
    let at = |line: usize| format!("{}:{line}", source.name);
    while i < b.len() {
        let c = b[i];
        let word_start = i == 0 || !is_ident(b[i - 1]);
        if c == b'\n' {
            line += 1;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
            if scopes.len() > 1 && scopes.last().is_some_and(|s| s.1 == depth) {
                scopes.pop();
            }
        } else if word_start && b[i..].starts_with(b"mod ") {
            let name: String =
                text[i + 4..].trim_start().bytes().take_while(|&c| is_ident(c)).map(char::from).collect();
            let after = text[i + 4..].trim_start()[name.len()..].trim_start();
            if after.starts_with('{') {
                let (mut m, in_test) = scopes.last().map(|s| (s.0.clone(), s.2)).unwrap_or_default();
                m.push(name);
                known.insert(m.clone());
                scopes.push((m, depth, in_test || cfg_test_before(&source.text, i)));
            }
        } else if word_start && b[i..].starts_with(b"use ") {
            let end = text[i..].find(';').map_or(b.len(), |p| i + p);
            let (scope, _, in_test) = scopes.last().expect("the file's scope is never popped");
            for path in expand_use(&text[i + 4..end]).iter().filter(|_| !in_test) {
                if let Some(to) = resolve(path, scope, known) {
                    edges.push(Edge { from: scope.clone(), to, at: at(line) });
                }
            }
            line += text[i..end].matches('\n').count();
            i = end;
            continue;
        } else if word_start && (b[i..].starts_with(b"crate::") || b[i..].starts_with(b"super::")) {
            let len = text[i..].bytes().take_while(|&c| is_ident(c) || c == b':').count();
            let path: Vec<String> =
                text[i..i + len].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            let (scope, _, in_test) = scopes.last().expect("the file's scope is never popped");
            if let Some(to) = resolve(&path, scope, known).filter(|_| !in_test) {
                edges.push(Edge { from: scope.clone(), to, at: at(line) });
            }
            i += len;
            continue;
        }
        i += 1;
    }
    edges
}

/// The module each file of `root` (a crate's `src`) is, following `#[path]` attributes.
fn sources(root: &Path) -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut by_path: BTreeMap<PathBuf, (Module, bool)> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(root).expect("under the root");
        let mut m: Module =
            rel.iter().map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            m.pop();
        }
        by_path.insert(f.clone(), (m, false));
    }
    // `#[path = "x.rs"] mod name;` makes x.rs the module `name` of the declaring file.
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut pending: Option<String> = None;
        let mut offset = 0;
        for l in text.lines() {
            let at = offset;
            offset += l.len() + 1;
            let l = l.trim();
            if let Some(rest) = l.strip_prefix("#[path = \"") {
                pending = rest.split('"').next().map(str::to_owned);
            } else if let (Some(p), Some(name)) =
                (&pending, l.strip_prefix("mod ").or_else(|| l.strip_prefix("pub mod ")))
            {
                let target = f.parent().expect("a file's folder").join(p);
                let (mut m, in_test) = by_path[f].clone();
                m.push(name.trim_end_matches(';').trim().to_owned());
                by_path.insert(target, (m, in_test || cfg_test_before(&text, at)));
                pending = None;
            } else if !l.starts_with("#[") {
                pending = None;
            }
        }
    }
    files
        .into_iter()
        .map(|f| Source {
            module: by_path[&f].0.clone(),
            test: by_path[&f].1,
            name: f.strip_prefix(root.parent().unwrap_or(root)).unwrap_or(&f).display().to_string(),
            text: std::fs::read_to_string(&f).expect("read above"),
        })
        .collect()
}

/// The cycles among sibling modules, each as a readable report (empty: none).
fn cycles(sources: &[Source]) -> Vec<String> {
    let mut known: BTreeSet<Module> = BTreeSet::new();
    for s in sources {
        for k in 0..=s.module.len() {
            known.insert(s.module[..k].to_vec());
        }
    }
    let mut edges = Vec::new();
    for s in sources {
        edges.extend(edges_of(s, &mut known));
    }
    // parent -> (from child -> to child -> where).
    let mut graphs: BTreeMap<Module, BTreeMap<String, BTreeMap<String, Vec<String>>>> = BTreeMap::new();
    for e in &edges {
        let p = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        if p == e.from.len() || p == e.to.len() {
            continue;
        }
        let lines = graphs
            .entry(e.from[..p].to_vec())
            .or_default()
            .entry(e.from[p].clone())
            .or_default()
            .entry(e.to[p].clone())
            .or_default();
        if lines.last() != Some(&e.at) {
            lines.push(e.at.clone());
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        for component in strongly_connected(graph) {
            let mut report = format!("a circle under {}: {}\n", display(parent), component.join(", "));
            for from in &component {
                for (to, at) in &graph[from] {
                    if component.contains(to) {
                        let _ = writeln!(report, "  {from} -> {to} ({})", at.join(", "));
                    }
                }
            }
            found.push(report);
        }
    }
    found
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
fn strongly_connected(graph: &BTreeMap<String, BTreeMap<String, Vec<String>>>) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeMap<String, Vec<String>>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        out: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flat_map(BTreeMap::keys) {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w.as_str()) {
                    let iw = self.index[w.as_str()];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t =
        Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn no_circles_between_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust/src");
    let sources = sources(&root);
    assert!(sources.len() > 20, "found only {} files under {}", sources.len(), root.display());
    let found = cycles(&sources);
    assert!(found.is_empty(), "modules that depend on each other:\n{}", found.join("\n"));
}

fn source(module: &str, text: &str) -> Source {
    let module = if module.is_empty() { Vec::new() } else { module.split("::").map(str::to_owned).collect() };
    Source { name: format!("{}.rs", display(&module)), module, text: text.to_owned(), test: false }
}

#[test]
fn finds_a_circle_through_use_lines_and_inline_paths() {
    let files = [
        source("", "pub mod a;\npub mod b;\n"),
        source("a", "pub mod x;\npub mod y;\n"),
        source("a::x", "use super::y::{self, Thing};\n"),
        // Reached back through an inline path, across two files.
        source("a::y", "pub fn f() { crate::a::x::g() }\n"),
        source("b", "use crate::a::x;\n"),
    ];
    let found = cycles(&files);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a circle under a: x, y"), "{}", found[0]);
    assert!(
        found[0].contains("x -> y (a::x.rs:1)") && found[0].contains("y -> x (a::y.rs:1)"),
        "{}",
        found[0]
    );
}

#[test]
fn lifts_edges_to_siblings_and_ignores_ancestors() {
    let files = [
        source("", "pub mod engine;\npub mod sweep;\n"),
        source("engine", "pub mod driver;\npub use driver::Turn;\n"),
        // A test module may use anything: it is a user, not a part.
        source(
            "engine::driver",
            "use super::*;\n#[cfg(test)]\nmod tests {\n    use crate::sweep::icmp;\n}\n",
        ),
        source("sweep", "pub mod icmp;\n"),
        source("sweep::icmp", "use crate::engine::driver::Turn;\n"),
    ];
    assert!(cycles(&files).is_empty());
    // One line back from the engine into the sweep closes a circle at the top.
    let mut files = files;
    files[2] = source(
        "engine::driver",
        "// use crate::sweep::icmp;\nconst S: &str = \"crate::sweep\";\nuse crate::sweep::icmp as _;\n",
    );
    let found = cycles(&files);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("engine -> sweep (engine::driver.rs:3)"), "{}", found[0]);
}

#[test]
fn expands_use_trees() {
    let paths = expand_use("crate::snmp::{decode, v3::{self, flags}, Message as M}");
    let as_text: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        as_text,
        ["crate::snmp::decode", "crate::snmp::v3", "crate::snmp::v3::flags", "crate::snmp::Message"]
    );
}
