//! The expansion of the key table in `mod.rs`: from one line per key, the
//! `Key` variant, the field of `Metadata` (what is read) and of `Patch`
//! (what is written), so that a key cannot be added to one and forgotten
//! in another.

/// `Some` of the literal when there is one: a key's former name.
macro_rules! former {
    () => {
        None
    };
    ($name:literal) => {
        Some($name)
    };
}

/// One line per key: `Variant field: Type` (the field spells the key as
/// stored), optionally `, formerly "old_name"` for a key renamed since
/// databases stored it.
macro_rules! keys {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident: $ty:ty $(, formerly $former:literal)?;
    )*) => {
        /// A key of `progressive_backfill_state.metadata`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Key {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$variant),*];

            /// The key as stored.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Key::$variant => stringify!($field), )*
                }
            }

            /// The name an older version stored the key under: still read,
            /// and removed when the key is written.
            pub const fn former_name(self) -> Option<&'static str> {
                match self {
                    $( Key::$variant => $crate::store::metadata::keys::former!($($former)?), )*
                }
            }
        }

        /// The column as read: every key decoded on its own, so that a key of
        /// the wrong shape (another tool's) reads as absent.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Metadata {
            $( $(#[doc = $doc])* pub $field: Option<$ty>, )*
        }

        impl Metadata {
            /// Never fails: what is not an object, or a key of another
            /// shape, reads as absent.
            pub fn decode(value: &serde_json::Value) -> Metadata {
                Metadata { $( $field: decode_key(value, Key::$variant), )* }
            }
        }

        /// A write to the column: each key kept, set or removed.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Patch {
            $( $(#[doc = $doc])* pub $field: Change<$ty>, )*
        }

        impl Patch {
            /// This patch, then `later` (whose changes win where both change a key).
            pub fn and(self, later: Patch) -> Patch {
                Patch { $( $field: self.$field.and(later.$field), )* }
            }

            fn render(&self) -> Rendered {
                let mut out = Rendered::default();
                $( out.add(Key::$variant.as_str(), Key::$variant.former_name(), &self.$field); )*
                out
            }
        }
    };
}

pub(crate) use {former, keys};
