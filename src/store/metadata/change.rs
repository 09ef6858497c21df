//! What a patch does to one key, and a patch rendered as the two bind
//! parameters of `sql::apply`: the keys to remove, the object to merge.

use serde::Serialize;
use serde_json::{Map, Value};

/// What a patch does to one key.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Change<T> {
    /// Left as stored (or absent).
    #[default]
    Keep,
    Set(T),
    Remove,
}

impl<T> Change<T> {
    /// Set to the value when there is one; otherwise the key is left alone.
    pub fn set_or_keep(value: Option<T>) -> Change<T> {
        value.map_or(Change::Keep, Change::Set)
    }

    /// Set to the value when there is one; otherwise the key goes.
    pub fn set_or_remove(value: Option<T>) -> Change<T> {
        value.map_or(Change::Remove, Change::Set)
    }

    /// This change, unless `later` changes the key too.
    pub fn and(self, later: Change<T>) -> Change<T> {
        match later {
            Change::Keep => self,
            later @ (Change::Set(_) | Change::Remove) => later,
        }
    }
}

/// A patch as the two parameters.
#[derive(Default)]
pub(super) struct Rendered {
    pub(super) removed: Vec<&'static str>,
    pub(super) set: Map<String, Value>,
}

impl Rendered {
    /// One key's change: `name` as stored, `former` the name it had.
    pub(super) fn add<T: Serialize>(&mut self, name: &'static str, former: Option<&'static str>, change: &Change<T>) {
        let value = match change {
            Change::Keep => return,
            Change::Remove => None,
            // Every key's type serializes; a value that would not (none
            // does) is left out rather than written half.
            Change::Set(v) => match serde_json::to_value(v) {
                Ok(v) => Some(v),
                Err(_) => return,
            },
        };
        match value {
            Some(v) => {
                self.set.insert(name.to_string(), v);
            }
            None => self.removed.push(name),
        }
        self.removed.extend(former);
    }
}
