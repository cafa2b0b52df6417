//! Where each value of a YAML document is: a map from field path (`rules[2].any_of[0]`) to
//! `line:column`, so semantic errors found on plain model types can point into the file.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based position in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Position {
    /// The start of a file, for problems that concern a whole document.
    pub const START: Self = Self { line: 1, column: 1 };
}

/// Field paths of one document with the position of each value.
#[derive(Debug, Clone, Default)]
pub struct Positions(HashMap<String, Position>);

impl Positions {
    /// Indexes a YAML document. A document that does not parse yields an empty index (its
    /// syntax error is reported by the typed parse).
    pub fn of(text: &str) -> Self {
        let mut positions = HashMap::new();
        if let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(text) {
            record(&root, String::new(), &mut positions);
        }
        Self(positions)
    }

    /// Whether `path` names a value of the document.
    pub fn has(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }

    /// The position of the value at `path`, or of its nearest recorded ancestor (a missing
    /// field points at the mapping that lacks it).
    pub fn find(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some(position) = self.0.get(path) {
                return *position;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return self.0.get("").copied().unwrap_or(Position::START),
            }
        }
    }
}

fn record(node: &Spanned<Node>, path: String, positions: &mut HashMap<String, Position>) {
    let position = Position {
        line: node.referenced.line().max(1) as u32,
        column: node.referenced.column().max(1) as u32,
    };
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                record(value, child, positions);
            }
        }
        Node::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                record(item, format!("{path}[{index}]"), positions);
            }
        }
        Node::Scalar => {}
    }
    positions.insert(path, position);
}

/// The shape of a YAML document, with positions.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

macro_rules! scalar {
    ($($method:ident: $type:ty),*) => {
        $(fn $method<E: de::Error>(self, _: $type) -> Result<Node, E> { Ok(Node::Scalar) })*
    };
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str, visit_i128: i128, visit_u128: u128);

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<KeyText>()? {
            entries.push((key.0, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key of any scalar type, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<KeyText, E> {
                Ok(KeyText(text.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_point_at_values_and_missing_fields_at_their_parent() {
        let text = "jurisdiction: CN\nrules:\n  - id: a\n    any_of: [x, y]\n";
        let positions = Positions::of(text);
        assert_eq!(
            positions.find("jurisdiction"),
            Position {
                line: 1,
                column: 15
            }
        );
        assert_eq!(
            positions.find("rules[0].id"),
            Position { line: 3, column: 9 }
        );
        assert_eq!(
            positions.find("rules[0].any_of[1]"),
            Position {
                line: 4,
                column: 17
            }
        );
        assert_eq!(positions.find("rules[0].title"), positions.find("rules[0]"));
        assert_eq!(positions.find("nothing.here"), positions.find(""));
    }
}
