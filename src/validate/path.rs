//! Field paths (`spec.tieredstore.levels[0].quota`) and how they are found in a YAML tree.

use std::fmt;

use crate::load::{Node, Pos};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from a document's root to a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// Parses the display form: dotted keys, `[N]` indexes, `["key.with.dots"]`.
    pub fn parse(text: &str) -> FieldPath {
        let mut segments = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").unwrap_or(after.len());
                segments.push(Segment::Key(after[..end].to_owned()));
                rest = after.get(end + 2..).unwrap_or("");
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').unwrap_or(after.len());
                match after[..end].parse() {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => segments.push(Segment::Key(after[..end].to_owned())),
                }
                rest = after.get(end + 1..).unwrap_or("");
            } else {
                let trimmed = rest.strip_prefix('.').unwrap_or(rest);
                let end = trimmed.find(['.', '[']).unwrap_or(trimmed.len());
                if end > 0 {
                    segments.push(Segment::Key(trimmed[..end].to_owned()));
                }
                rest = &trimmed[end..];
                if end == 0 && rest.starts_with('.') {
                    rest = &rest[1..];
                }
            }
        }
        FieldPath(segments)
    }

    /// Builds a path from a JSON pointer (`/spec/levels/0`), using the tree to tell indexes
    /// from keys that look like numbers.
    pub fn from_pointer(pointer: &str, root: &Node) -> FieldPath {
        let mut segments = Vec::new();
        let mut node = Some(root);
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            let is_seq = matches!(node.map(|n| &n.value), Some(crate::load::NodeValue::Seq(_)));
            match token.parse::<usize>() {
                Ok(i) if is_seq => {
                    node = node.and_then(|n| n.index(i));
                    segments.push(Segment::Index(i));
                }
                _ => {
                    node = node.and_then(|n| n.get(&token));
                    segments.push(Segment::Key(token));
                }
            }
        }
        FieldPath(segments)
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        FieldPath(segments)
    }

    /// Where the path points in `root`: the value's position when it exists, else the position
    /// of the deepest existing ancestor (the mapping that lacks the field). With `at_key`, the
    /// position of the final key instead of its value.
    pub fn locate(&self, root: &Node, at_key: bool) -> Pos {
        let mut node = root;
        let last = self.0.len().saturating_sub(1);
        for (i, segment) in self.0.iter().enumerate() {
            let next = match segment {
                Segment::Key(k) => {
                    if at_key
                        && i == last
                        && let Some(key) = node.key(k)
                    {
                        return key.pos;
                    }
                    node.get(k)
                }
                Segment::Index(idx) => node.index(*idx),
            };
            match next {
                Some(n) => node = n,
                None => return node.pos,
            }
        }
        node.pos
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(idx) => write!(f, "[{idx}]")?,
                Segment::Key(k) if k.is_empty() || k.contains(['.', '[', ']', '"', '/', ' ']) => {
                    write!(f, "[\"{k}\"]")?;
                }
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for text in [
            "spec.tieredstore.levels[0].quota",
            "spec.properties[\"goosefs.master.journal.type\"]",
            "metadata.labels[\"app.kubernetes.io/name\"]",
            "spec.mounts[12]",
        ] {
            assert_eq!(FieldPath::parse(text).to_string(), text);
        }
        assert_eq!(
            FieldPath::parse("spec.mounts[1].name").0,
            vec![
                Segment::Key("spec".into()),
                Segment::Key("mounts".into()),
                Segment::Index(1),
                Segment::Key("name".into())
            ]
        );
    }
}
