//! Connections as GitHub pages them: `first`/`after` windows, opaque
//! cursors, `totalCount`, `pageInfo`, `nodes` and `edges`.

use base64::Engine;
use graphql_parser::query::{Field, Selection, SelectionSet};
use serde_json::{json, Map, Value};

use crate::exec::{field_arg, Exec, GqlError, Obj};
use crate::partial::Site;

/// Opaque cursors, as GitHub's are: clients must not be able to read them.
pub fn encode_cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:v2:\u{1}{:x}", index ^ 0x5a5a))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let hex = text.strip_prefix("cursor:v2:\u{1}")?;
    usize::from_str_radix(hex, 16).ok().map(|i| i ^ 0x5a5a)
}

impl<'w> Exec<'w> {
    /// The fields of a selection on a type with no subtypes (connections,
    /// page info, edges), with fragments expanded.
    fn fields(&self, set: &'w SelectionSet<'w, String>) -> Vec<&'w Field<'w, String>> {
        let mut out = Vec::new();
        for sel in &set.items {
            match sel {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(i) => out.extend(self.fields(&i.selection_set)),
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.fragments.get(s.fragment_name.as_str()).copied() {
                        out.extend(self.fields(&frag.selection_set));
                    }
                }
            }
        }
        out
    }

    fn edge(&mut self, index: usize, o: Obj<'w>, f: &'w Field<'w, String>, path: &[Value], j: usize) -> Value {
        let mut edge = Map::new();
        for ef in self.fields(&f.selection_set) {
            let k = ef.alias.clone().unwrap_or_else(|| ef.name.clone());
            let v = match ef.name.as_str() {
                "cursor" => json!(encode_cursor(index)),
                "node" => {
                    let here = [path, &[json!(j), json!(&k)]].concat();
                    let v = self.select(o, &ef.selection_set, &here);
                    let (line, column) = (ef.position.line, ef.position.column);
                    // An edge's `node` is nullable in GitHub's schema.
                    self.sites.push(Site { path: here, nullable: true, connection: false, line, column });
                    v
                }
                _ => Value::Null,
            };
            edge.insert(k, v);
        }
        Value::Object(edge)
    }

    pub(crate) fn connection(
        &mut self,
        items: Vec<Obj<'w>>,
        descending: bool,
        f: &'w Field<'w, String>,
        path: &[Value],
    ) -> Value {
        let mut items = items;
        if descending {
            items.reverse();
        }
        let total = items.len();
        let first = field_arg(f, "first", self.vars).as_u64().unwrap_or(0) as usize;
        let after = field_arg(f, "after", self.vars);
        let start = match after.as_str() {
            None => 0,
            Some(c) => match decode_cursor(c) {
                Some(i) => i + 1,
                None => {
                    let mut e = GqlError::new(None, format!("`{c}` does not appear to be a valid cursor."));
                    e.path = path.to_vec();
                    self.errors.push(e);
                    return Value::Null;
                }
            },
        };
        // `last: n` (GitHub refuses it together with `first`) ends the window
        // at the connection's end instead of starting it after the cursor.
        let last = field_arg(f, "last", self.vars).as_u64().map(|n| n as usize);
        let (start, end) = match last {
            Some(n) => (start.max(total.saturating_sub(n)), total),
            None => (start, (start + first).min(total)),
        };
        let window: Vec<(usize, Obj<'w>)> = (start.min(end)..end).map(|i| (i, items[i])).collect();
        let mut out = Map::new();
        for sf in self.fields(&f.selection_set) {
            let key = sf.alias.clone().unwrap_or_else(|| sf.name.clone());
            let mut here = path.to_vec();
            here.push(json!(key));
            let value = match sf.name.as_str() {
                "totalCount" => json!(total),
                "pageInfo" => {
                    let mut info = Map::new();
                    for pf in self.fields(&sf.selection_set) {
                        let v = match pf.name.as_str() {
                            "hasNextPage" => json!(end < total),
                            "hasPreviousPage" => json!(start > 0),
                            "endCursor" => json!(window.last().map(|(i, _)| encode_cursor(*i))),
                            "startCursor" => json!(window.first().map(|(i, _)| encode_cursor(*i))),
                            _ => Value::Null,
                        };
                        info.insert(pf.alias.clone().unwrap_or_else(|| pf.name.clone()), v);
                    }
                    Value::Object(info)
                }
                // Paths name each item by its index, as GraphQL error paths do.
                "nodes" => Value::Array(
                    window
                        .iter()
                        .enumerate()
                        .map(|(j, (_, o))| self.select(*o, &sf.selection_set, &[here.as_slice(), &[json!(j)]].concat()))
                        .collect(),
                ),
                "edges" => {
                    Value::Array(window.iter().enumerate().map(|(j, (i, o))| self.edge(*i, *o, sf, &here, j)).collect())
                }
                _ => Value::Null,
            };
            out.insert(key, value);
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_opaque_and_round_trip() {
        for i in [0, 1, 49, 50, 99_999] {
            let c = encode_cursor(i);
            assert!(!c.contains(&i.to_string()) || i < 10, "{c} reveals {i}");
            assert_eq!(decode_cursor(&c), Some(i));
        }
        for bad in ["", "abc", "Y3Vyc29yOnYyOg==", "!!!"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
