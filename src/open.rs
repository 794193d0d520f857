//! Open, tagged, registry-backed specs: the one generic piece behind `[[models]] family = "..."`
//! and `[dataset] name = "..."`.
//!
//! A *kind* ([`Kind`]: model families, datasets) is an object-safe trait (`Kind::Obj`) plus a
//! registry of the types implementing it ([`Entries`]), each under its name. An [`Open`] value
//! holds one of them behind the trait and (de)serialises exactly as serde's internally tagged
//! enum did: the tag (`family = "mlp"`) first, then the type's own fields in struct order.
//! Deserialising reads the tag, looks it up in the kind's registry and deserialises that type;
//! an unknown name is serde's `unknown variant` error, which the experiment loader turns into a
//! did-you-mean. The registry is process-wide and can be extended before it is first read
//! ([`Global::install`]), so that a user's crate can add its own types.
//!
//! This module is a leaf: it knows neither families nor datasets.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

/// What every registered type provides for free (blanket-implemented for any `Serialize +
/// PartialEq + Debug` type): type-erased serialisation, comparison and downcasting.
pub trait Erased: Any + Debug + Send + Sync {
    /// The value as [`Any`], for downcasting to its concrete type.
    fn as_any(&self) -> &dyn Any;
    /// The value as a type-erased `Serialize` (its own fields, without the tag).
    fn as_serialize(&self) -> &dyn erased_serde::Serialize;
    /// Whether `other` is a value of the same type, equal to this one.
    fn dyn_eq(&self, other: &dyn Any) -> bool;
    /// The concrete type's Rust path (`burnlab::models::mlp::MlpSpec`).
    fn type_name(&self) -> &'static str;
}

impl<T: Serialize + PartialEq + Debug + Send + Sync + 'static> Erased for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_serialize(&self) -> &dyn erased_serde::Serialize {
        self
    }
    fn dyn_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// Turns a concrete type into its kind's trait object (one blanket impl per kind).
pub trait Upcast<O: ?Sized> {
    /// `Arc::new(self)` as the trait object.
    fn upcast(self) -> Arc<O>;
}

/// A kind of open spec: its trait object, the key that names the type, and its registry.
pub trait Kind: Sized + 'static {
    /// The object-safe trait every registered type implements (`dyn FamilySpec`).
    type Obj: ?Sized + Erased;
    /// The key holding the type's name in a table (`family`, `name`).
    const TAG: &'static str;
    /// The registered name of a value (the value of [`Kind::TAG`]).
    fn name(obj: &Self::Obj) -> &'static str;
    /// One line saying what the value's type is, for `burnlab list`.
    fn summary(obj: &Self::Obj) -> &'static str;
    /// The process-wide registry.
    fn entries() -> &'static Entries<Self>;
}

/// A registered type: its name and summary, its default value and how to read it.
pub struct Entry<K: Kind> {
    /// The name in experiment files.
    pub name: &'static str,
    /// One line saying what it is.
    pub summary: &'static str,
    /// The Rust path of the type (for the tests that check every implementation is registered).
    pub type_name: &'static str,
    default: fn() -> Arc<K::Obj>,
    read: fn(toml::Value) -> Result<Arc<K::Obj>, toml::de::Error>,
}

impl<K: Kind> Entry<K> {
    /// The entry for `T`; its name and summary are those of `T::default()`.
    pub fn of<T: Upcast<K::Obj> + Default + DeserializeOwned + 'static>() -> Self {
        let default: fn() -> Arc<K::Obj> = || T::default().upcast();
        let value = default();
        Entry {
            name: K::name(&value),
            summary: K::summary(&value),
            type_name: std::any::type_name::<T>(),
            default,
            read: |v| T::deserialize(v).map(Upcast::upcast),
        }
    }

    /// The type with its default parameters.
    pub fn default_value(&self) -> Open<K> {
        wrap((self.default)())
    }
}

/// The registry of one kind: its types in display order, each name once.
pub struct Entries<K: Kind> {
    list: Vec<Entry<K>>,
}

impl<K: Kind> Default for Entries<K> {
    fn default() -> Self {
        Entries { list: Vec::new() }
    }
}

impl<K: Kind> Entries<K> {
    /// Adds `T` at the end.
    ///
    /// # Panics
    /// If another type is already registered under `T`'s name.
    pub fn with<T: Upcast<K::Obj> + Default + DeserializeOwned + 'static>(mut self) -> Self {
        let entry = Entry::<K>::of::<T>();
        assert!(self.get(entry.name).is_none(), "two types are registered as `{}`", entry.name);
        self.list.push(entry);
        self
    }

    /// The entry registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Entry<K>> {
        self.list.iter().find(|e| e.name == name)
    }

    /// Every entry, in display order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry<K>> {
        self.list.iter()
    }

    /// Every registered name, in display order.
    pub fn names(&self) -> Vec<&'static str> {
        self.list.iter().map(|e| e.name).collect()
    }

    /// The value registered as `name` with its default parameters.
    pub fn default_of(&self, name: &str) -> Option<Open<K>> {
        self.get(name).map(Entry::default_value)
    }
}

/// The process-wide registry of a kind: the built-in one unless another was installed first.
pub struct Global<K: Kind>(OnceLock<Entries<K>>);

impl<K: Kind> Global<K> {
    /// An empty slot (for a `static`).
    pub const fn new() -> Self {
        Global(OnceLock::new())
    }

    /// The installed registry, or `builtin()` from now on if none was.
    pub fn get(&'static self, builtin: fn() -> Entries<K>) -> &'static Entries<K> {
        self.0.get_or_init(builtin)
    }

    /// Installs `entries` as the process's registry.
    ///
    /// # Errors
    /// If the registry was already read (or installed): it cannot change once in use.
    pub fn install(&'static self, entries: Entries<K>) -> Result<(), String> {
        self.0.set(entries).map_err(|_| format!("the `{}` registry is already in use", K::TAG))
    }
}

impl<K: Kind> Default for Global<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// A value of any registered type of kind `K`, behind its trait (`Deref` to `K::Obj`).
pub struct Open<K: Kind>(Arc<K::Obj>, PhantomData<K>);

fn wrap<K: Kind>(obj: Arc<K::Obj>) -> Open<K> {
    Open(obj, PhantomData)
}

impl<K: Kind> Open<K> {
    /// Wraps a value of a concrete type (which need not be registered).
    pub fn new<T: Upcast<K::Obj>>(value: T) -> Self {
        wrap(value.upcast())
    }

    /// The value as its concrete type, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// Reads a value from a table holding the tag, through the process's registry.
    ///
    /// # Errors
    /// A missing or unknown tag (serde's `missing field` / `unknown variant` texts, with every
    /// registered name), or the type's own error for its fields.
    fn read(value: toml::Value) -> Result<Self, String> {
        let toml::Value::Table(mut table) = value else {
            return Err(format!("invalid type: {}, expected a table with a `{}` key", value.type_str(), K::TAG));
        };
        let name = match table.remove(K::TAG) {
            Some(toml::Value::String(s)) => s,
            Some(other) => return Err(format!("invalid type: {}, expected a string", other.type_str())),
            None => return Err(format!("missing field `{}`", K::TAG)),
        };
        let entries = K::entries();
        let Some(entry) = entries.get(&name) else {
            return Err(unknown_variant(&name, &entries.names()));
        };
        (entry.read)(toml::Value::Table(table)).map(wrap).map_err(|e| e.message().to_string())
    }
}

/// serde's text for an unknown variant (which `spec::source::explain` turns into a did-you-mean).
fn unknown_variant(name: &str, expected: &[&str]) -> String {
    match expected {
        [] => format!("unknown variant `{name}`, there are no variants"),
        [one] => format!("unknown variant `{name}`, expected `{one}`"),
        [first, rest @ ..] => {
            let rest: String = rest.iter().map(|n| format!(", `{n}`")).collect();
            format!("unknown variant `{name}`, expected one of `{first}`{rest}")
        }
    }
}

impl<K: Kind> std::ops::Deref for Open<K> {
    type Target = K::Obj;
    fn deref(&self) -> &K::Obj {
        &self.0
    }
}

impl<K: Kind> Clone for Open<K> {
    fn clone(&self) -> Self {
        wrap(self.0.clone())
    }
}

impl<K: Kind> Debug for Open<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<K: Kind> PartialEq for Open<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0.dyn_eq(other.0.as_any())
    }
}

/// The tag entry alone, as a one-entry map (flattened before the fields).
struct TagEntry<'a> {
    key: &'static str,
    name: &'a str,
}

impl Serialize for TagEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.key, self.name)?;
        map.end()
    }
}

/// The tag, then the value's own fields: the layout of a serde internally tagged enum.
#[derive(Serialize)]
struct Tagged<'a> {
    #[serde(flatten)]
    tag: TagEntry<'a>,
    #[serde(flatten)]
    params: &'a dyn erased_serde::Serialize,
}

impl<K: Kind> Serialize for Open<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let tag = TagEntry { key: K::TAG, name: K::name(&self.0) };
        Tagged { tag, params: self.0.as_serialize() }.serialize(s)
    }
}

impl<'de, K: Kind> Deserialize<'de> for Open<K> {
    /// Buffers the table (no registered type serialises a null), then reads it by its tag.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(d)?;
        Open::read(value).map_err(D::Error::custom)
    }
}

/// The types that implement one of `traits` (`impl Trait for Type`, not blanket impls) in the
/// Rust files under `dir` (relative to the crate root): what the registry tests compare with
/// the registry, so that a type written but not registered fails a test.
#[cfg(test)]
pub(crate) fn implementations(dir: &str, traits: &[&str]) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    let mut found = Vec::new();
    for text in files.iter().map(|f| std::fs::read_to_string(f).unwrap()) {
        for line in text.lines().map(str::trim) {
            let Some((head, ty)) = line.strip_prefix("impl ").and_then(|l| l.split_once(" for ")) else { continue };
            let tr = head.rsplit("::").next().unwrap_or(head).trim();
            let ty = ty.split([' ', '{', '<']).next().unwrap_or("");
            if traits.contains(&tr) && !ty.is_empty() {
                found.push(ty.to_string());
            }
        }
    }
    found.sort();
    found
}
