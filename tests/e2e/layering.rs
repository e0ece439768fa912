//! The composition root's shape (docs/architecture.md, "Crates and layers"): `src/` stays thin and
//! its modules import one another in no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of `src/` a file refers to (`crate::name…` and `use crate::{name, …}`).
fn references(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect::<String>();
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|part| ident(part.trim())).filter(|m| !m.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

fn collect(dir: &Path, root: &Path, graph: &mut BTreeMap<String, BTreeSet<String>>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, graph);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let top = rel.components().next().map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string());
            let (Some(top), Ok(text)) = (top, std::fs::read_to_string(&path)) else { continue };
            let refs = references(&text);
            graph.entry(top.clone()).or_default().extend(refs.into_iter().filter(|m| *m != top));
        }
    }
}

/// The composition root stays thin: clap types, dispatch and start-up. What grows (a command
/// set, an adapter, a file format) goes to the crate it belongs to (docs/architecture.md).
#[test]
fn src_stays_under_a_thousand_lines() {
    fn lines(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .map(|p| if p.is_dir() { lines(&p) } else { std::fs::read_to_string(&p).map(|t| t.lines().count()).unwrap_or(0) })
            .sum()
    }
    let total = lines(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(total > 100 && total < 1000, "src/ holds {total} lines");
}

/// The composition root's modules form no cycle: none imports a module that imports it back,
/// directly or through others (clap types live with the command they describe; between the
/// crates the host's side is split into, Cargo refuses a cycle).
#[test]
fn src_modules_import_no_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    collect(&root, &root, &mut graph);
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    assert!(modules.contains("cli") && modules.contains("transfer"), "{modules:?}");
    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten().filter(|n| graph.contains_key(n.as_str())) {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        let cycle = visit(m, &graph, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "src/ modules import each other in a cycle: {}", cycle.unwrap_or_default().join(" -> "));
    }
}
