//! Connections as GitHub pages them: `first`/`after` and `last`/`before`
//! windows, opaque cursors, `totalCount`, `pageInfo`, `nodes` and `edges`.

use base64::Engine;
use graphql_parser::query::{Field, Selection, SelectionSet};
use serde_json::{json, Map, Value};

use crate::exec::{field_arg, Exec, GqlError, Obj};
use crate::order::{self, UpdatedOrder};
use crate::partial::Site;

/// How a connection's items are ordered, which says what its cursors hold.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Order {
    /// As stored, reversed when descending: cursors name positions. They
    /// hold for `pullRequests`, which only ever grow at the end (a deleted
    /// comment does shift the later comments of its PR).
    Listed { descending: bool },
    /// Already sorted by this order: cursors carry each PR's sort value.
    Updated(UpdatedOrder),
}

/// A waiting `Fault::EarlyEnd` on its way through one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EarlyEnd {
    Off,
    Armed,
    /// Used: one page answered `hasNextPage: false` too early.
    Struck,
}

/// A cursor argument, decoded for the order it is given to.
enum Cursor {
    At(usize),
    Mark((i128, i32)),
}

/// Opaque cursors, as GitHub's are: clients must not be able to read them.
pub fn encode_cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:v2:\u{1}{:x}", index ^ 0x5a5a))
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let hex = text.strip_prefix("cursor:v2:\u{1}")?;
    usize::from_str_radix(hex, 16).ok().map(|i| i ^ 0x5a5a)
}

/// The indexes `start..end` a connection answers. The cursors bound the items
/// to `lo..hi`; `first` then takes from the front of what is left, `last`
/// (which GitHub refuses together with `first`) from its back.
fn window(total: usize, first: usize, last: Option<usize>, lo: usize, hi: usize) -> (usize, usize) {
    let lo = lo.min(total);
    let hi = hi.min(total).max(lo);
    match last {
        Some(n) => (hi.saturating_sub(n).max(lo), hi),
        None => (lo, lo.saturating_add(first).min(hi)),
    }
}

impl<'w> Exec<'w> {
    /// What a cursor argument names; null or absent is no bound, and a
    /// cursor this fake did not make for this order is GitHub's error.
    fn cursor_arg(
        &self,
        f: &Field<'w, String>,
        name: &str,
        order: Order,
        path: &[Value],
    ) -> Result<Option<Cursor>, GqlError> {
        let decode = |c: &str| match order {
            Order::Listed { .. } => decode_cursor(c).map(Cursor::At),
            Order::Updated(o) => order::decode(c).map(|m| Cursor::Mark(o.rank(m))),
        };
        match field_arg(f, name, self.vars) {
            Value::Null => Ok(None),
            v => match v.as_str().and_then(decode) {
                Some(c) => Ok(Some(c)),
                None => {
                    let shown = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    let mut e = GqlError::new(None, format!("`{shown}` does not appear to be a valid cursor."));
                    e.path = path.to_vec();
                    Err(e)
                }
            },
        }
    }

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

    fn edge(&mut self, cursor: String, o: Obj<'w>, f: &'w Field<'w, String>, path: &[Value], j: usize) -> Value {
        let mut edge = Map::new();
        for ef in self.fields(&f.selection_set) {
            let k = ef.alias.clone().unwrap_or_else(|| ef.name.clone());
            let v = match ef.name.as_str() {
                "cursor" => json!(cursor),
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
        order: Order,
        may_end_early: bool,
        f: &'w Field<'w, String>,
        path: &[Value],
    ) -> Value {
        self.connection_in(items, None, order, may_end_early, f, path)
    }

    /// A connection whose items hold `slots` (ascending, one per item) in a
    /// listing some items have left: a position cursor names a slot, so the
    /// items after a deleted one keep their cursors, as GitHub's (which
    /// carry the sort value) do. `None`: each item's slot is its index.
    pub(crate) fn connection_in(
        &mut self,
        items: Vec<Obj<'w>>,
        slots: Option<Vec<usize>>,
        order: Order,
        may_end_early: bool,
        f: &'w Field<'w, String>,
        path: &[Value],
    ) -> Value {
        let mut items = items;
        let mut slots = slots.unwrap_or_else(|| (0..items.len()).collect());
        if let Order::Listed { descending: true } = order {
            items.reverse();
            // Descending slots count from the end of the whole listing.
            let top = slots.last().copied().unwrap_or(0);
            slots = slots.iter().rev().map(|s| top - s).collect();
        }
        let total = items.len();
        let first = field_arg(f, "first", self.vars).as_u64().unwrap_or(0) as usize;
        let last = field_arg(f, "last", self.vars).as_u64().map(|n| n as usize);
        let bounds =
            self.cursor_arg(f, "after", order, path).and_then(|a| Ok((a, self.cursor_arg(f, "before", order, path)?)));
        let (after, before) = match bounds {
            Ok(b) => b,
            Err(e) => {
                self.errors.push(e);
                return Value::Null;
            }
        };
        // A sort value stands where it would sort now, whoever it came from.
        let rank = |o: &Obj<'w>| match order {
            Order::Updated(u) => u.rank_of(o),
            Order::Listed { .. } => None,
        };
        let lo = match after {
            None => 0,
            Some(Cursor::At(i)) => slots.partition_point(|s| *s <= i),
            Some(Cursor::Mark(m)) => items.partition_point(|o| rank(o).is_some_and(|r| r <= m)),
        };
        let hi = match before {
            None => total,
            Some(Cursor::At(i)) => slots.partition_point(|s| *s < i),
            Some(Cursor::Mark(m)) => items.partition_point(|o| rank(o).is_some_and(|r| r < m)),
        };
        let (start, end) = window(total, first, last, lo, hi);
        // A waiting early end cuts short the first page of PRs with more after it.
        let cut = may_end_early && end < total && self.early_end == EarlyEnd::Armed;
        if cut {
            self.early_end = EarlyEnd::Struck;
        }
        let cursor = |i: usize, o: &Obj<'w>| match (order, o) {
            (Order::Updated(_), Obj::Pr(p)) => order::encode(order::Mark::of(p)),
            _ => encode_cursor(slots[i]),
        };
        let window: Vec<(String, Obj<'w>)> = (start..end).map(|i| (cursor(i, &items[i]), items[i])).collect();
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
                            "hasNextPage" => json!(end < total && !cut),
                            "hasPreviousPage" => json!(start > 0),
                            "endCursor" => json!(window.last().map(|(c, _)| c)),
                            "startCursor" => json!(window.first().map(|(c, _)| c)),
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
                    let edges = window.iter().enumerate().map(|(j, (c, o))| self.edge(c.clone(), *o, sf, &here, j));
                    Value::Array(edges.collect())
                }
                _ => Value::Null,
            };
            out.insert(key, value);
        }
        Value::Object(out)
    }
}

/// The slots of the items left in a listing of `left + removed.len()`
/// from which the slots `removed` (ascending) have gone.
pub(crate) fn slots(left: usize, removed: &[usize]) -> Vec<usize> {
    (0..left + removed.len()).filter(|s| removed.binary_search(s).is_err()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_first_after_or_last_before() {
        // (first, last, after, before) over 10 items -> start..end
        let cases = [
            ((3, None, None, None), (0, 3)),
            ((3, None, Some(4), None), (5, 8)),
            ((30, None, Some(4), None), (5, 10)),
            ((0, Some(3), None, None), (7, 10)),
            ((0, Some(3), None, Some(5)), (2, 5)),
            ((0, Some(30), None, Some(2)), (0, 2)),
            ((0, Some(3), Some(3), Some(5)), (4, 5)),
            ((5, None, Some(2), Some(5)), (3, 5)),
            ((5, None, Some(6), Some(4)), (7, 7)),
            ((0, Some(3), Some(20), None), (10, 10)),
            ((0, Some(3), None, Some(50)), (7, 10)),
            ((0, Some(3), Some(usize::MAX), None), (10, 10)),
        ];
        for ((first, last, after, before), want) in cases {
            let (lo, hi) = (after.map_or(0, |i: usize| i.saturating_add(1)), before.unwrap_or(10));
            assert_eq!(window(10, first, last, lo, hi), want, "{first} {last:?} {after:?} {before:?}");
        }
    }

    /// `pullRequests` of the test fake's 20 PRs: (numbers, startCursor, hasPreviousPage, hasNextPage).
    async fn page(state: &crate::server::AppState, args: &str, vars: Value) -> (Vec<u64>, Value, Value, Value) {
        let q = format!(
            "query($c: String) {{ repository(owner: \"o\", name: \"r\") {{ pullRequests({args}) {{ \
             nodes {{ number }} pageInfo {{ startCursor hasPreviousPage hasNextPage }} }} }} }}"
        );
        let a = crate::chaos_tests::ask(state, &q, vars).await;
        let c = &a.body["data"]["repository"]["pullRequests"];
        let numbers = c["nodes"].as_array().map(|n| n.iter().filter_map(|p| p["number"].as_u64()).collect());
        let info = &c["pageInfo"];
        let numbers = numbers.unwrap_or_else(|| panic!("{args}: {}", a.body));
        (numbers, info["startCursor"].clone(), info["hasPreviousPage"].clone(), info["hasNextPage"].clone())
    }

    #[tokio::test]
    async fn last_before_pages_backwards_and_a_bad_before_is_refused() {
        let state = crate::chaos_tests::fake(20);
        let all: Vec<u64> =
            state.world.read().unwrap().repos[0].pull_requests.iter().map(|p| p.number as u64).collect();
        // Backwards from the end, 7 at a time, each page the 7 before the last one's start.
        let (mut got, mut before) = (Vec::new(), Value::Null);
        loop {
            let (numbers, start, previous, _) = page(&state, "last: 7, before: $c", json!({ "c": before })).await;
            got.splice(0..0, numbers);
            if previous != json!(true) {
                break;
            }
            before = start;
        }
        assert_eq!(got, all, "every PR once, in order");

        let c = |i: usize| json!({ "c": encode_cursor(i) });
        assert_eq!(
            page(&state, "last: 3, before: $c", c(10)).await,
            (all[7..10].to_vec(), c(7)["c"].clone(), json!(true), json!(true))
        );
        assert_eq!(page(&state, "last: 30, before: $c", c(2)).await.0, all[..2].to_vec());
        assert_eq!(page(&state, "first: 5, after: $c", c(2)).await.0, all[3..8].to_vec(), "after unchanged");

        let q = "{ repository(owner: \"o\", name: \"r\") { pullRequests(last: 3, before: \"bogus\") { totalCount } } }";
        let a = crate::chaos_tests::ask(&state, q, json!({})).await;
        assert_eq!(a.body["errors"][0]["message"], "`bogus` does not appear to be a valid cursor.");
        assert_eq!(a.body["errors"][0]["path"], json!(["repository", "pullRequests"]));
    }

    #[test]
    fn the_items_left_keep_their_slots() {
        // (items left, slots removed) -> their slots
        let cases: [(usize, &[usize], &[usize]); 4] =
            [(3, &[], &[0, 1, 2]), (3, &[0], &[1, 2, 3]), (3, &[1, 3], &[0, 2, 4]), (0, &[0, 1], &[])];
        for (left, removed, want) in cases {
            assert_eq!(slots(left, removed), want, "{left} {removed:?}");
        }
    }

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
