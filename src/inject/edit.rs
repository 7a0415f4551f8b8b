//! Text-level YAML edits: append an item to the sequence at a path of one document, creating
//! the mappings and the sequence that are missing, written in the style of the text around it
//! (block or flow, its indentation and line ending). Every byte outside the insertion stays as
//! it was, comments included, which no YAML library's round trip keeps.
//!
//! The edit is located with the positions of [`crate::load`]'s tree (where each node starts)
//! and the block structure of the lines after it. The caller re-parses the result and compares
//! it with the intended data ([`super`]), so a layout this module misreads is caught, never
//! written.

use serde_json::Value;

use crate::load::node::{Node, NodeValue};

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(&'static str),
    /// A sequence index.
    Index(usize),
}

/// Append `item` to the sequence at `path`, making what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Append {
    /// Where the sequence is (or is to be).
    pub path: Vec<Step>,
    /// What to append.
    pub item: Value,
}

/// How the text writes what the edit adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Line ending.
    pub eol: &'static str,
    /// How much deeper a block sequence's dash sits than its key: 0 (`key:` then `- x` below it,
    /// as kubectl writes) or 2.
    pub seq_indent: usize,
}

impl Style {
    /// The style of `text`: CRLF if it has any, and the sequence indentation its first block
    /// sequence under a key uses (2 when it has none).
    pub fn of(text: &str) -> Style {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut seq_indent = 2;
        let mut key_column = None;
        for line in text.lines() {
            let content = line.trim_start_matches(' ');
            let column = line.len() - content.len();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if let Some(key) = key_column
                && (content == "-" || content.starts_with("- "))
            {
                seq_indent = column.saturating_sub(key);
                break;
            }
            key_column = content.trim_end().ends_with(':').then_some(column);
        }
        Style { eol, seq_indent }
    }
}

/// Why an edit cannot be made in the text as it is (the caller rewrites the document instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl Append {
    /// Applies the append to `value` (the intended result the text edit must parse to).
    ///
    /// # Errors
    /// A path through something that is not a mapping or sequence, or a missing index.
    pub fn apply_to(&self, value: &mut Value) -> Result<(), Unsupported> {
        let mut at = value;
        for (i, step) in self.path.iter().enumerate() {
            let last = i + 1 == self.path.len();
            at = match step {
                Step::Key(key) => at
                    .as_object_mut()
                    .ok_or_else(|| Unsupported(format!("`{key}` is not in a mapping")))?
                    .entry(*key)
                    .or_insert_with(|| {
                        if last {
                            Value::Array(Vec::new())
                        } else {
                            Value::Object(serde_json::Map::new())
                        }
                    }),
                Step::Index(i) => at.get_mut(*i).ok_or_else(|| Unsupported(format!("no item {i}")))?,
            };
        }
        at.as_array_mut()
            .ok_or_else(|| Unsupported("the target is not a sequence".to_owned()))?
            .push(self.item.clone());
        Ok(())
    }
}

/// Appends in `text`, where `doc` is the parsed document (positions into `text`).
///
/// # Errors
/// [`Unsupported`]: a layout this module does not edit (a null value on the path, a merge key's
/// node, positions without byte offsets, nested `- -` items).
pub fn append(text: &str, doc: &Node, op: &Append) -> Result<String, Unsupported> {
    let mut node = doc;
    let mut depth = 0;
    while depth < op.path.len() {
        let next = match (&op.path[depth], &node.value) {
            (Step::Key(key), NodeValue::Map(_)) => match node.get(key) {
                None => break,
                Some(child) if child.value == NodeValue::Null => {
                    return Err(Unsupported(format!("`{key}` is there but empty")));
                }
                Some(child) => child,
            },
            (Step::Index(i), NodeValue::Seq(items)) => {
                items.get(*i).ok_or_else(|| Unsupported(format!("no item {i}")))?
            }
            (step, _) => {
                return Err(Unsupported(format!(
                    "{step:?} does not lead into a {}",
                    node.type_name()
                )));
            }
        };
        node = next;
        depth += 1;
    }
    let style = Style::of(text);
    let start = node
        .pos
        .offset
        .and_then(|o| usize::try_from(o).ok())
        .filter(|o| *o <= text.len())
        .ok_or_else(|| Unsupported("the parser gave no byte offset".to_owned()))?;
    // A flow collection starts at its bracket, before its first entry. A block one starts at its
    // dash (an indented sequence) or where its first entry does (a mapping, a sequence at its
    // key's column), which may itself be a bracket: `- [a]`.
    let first = match &node.value {
        NodeValue::Seq(items) => items.first().map(|n| n.pos.offset),
        NodeValue::Map(entries) => entries.first().map(|(k, _)| k.pos.offset),
        _ => None,
    };
    let flow = matches!(text.as_bytes().get(start), Some(b'[' | b'{')) && first != Some(node.pos.offset);
    if depth == op.path.len() {
        let NodeValue::Seq(items) = &node.value else {
            return Err(Unsupported(format!(
                "the target is a {}, not a sequence",
                node.type_name()
            )));
        };
        if flow {
            let item = flow_text(&op.item);
            return insert_in_flow(text, start, &item, !items.is_empty());
        }
        let indent = dash_column(text, start)?;
        let at = block_end(text, start, indent, true);
        return Ok(insert_lines(text, at, &block_item(&op.item, indent, style), style.eol));
    }
    let NodeValue::Map(entries) = &node.value else {
        return Err(Unsupported(format!(
            "a {} where a mapping was expected",
            node.type_name()
        )));
    };
    let Step::Key(key) = op.path[depth] else {
        return Err(Unsupported("an index into a missing sequence".to_owned()));
    };
    let mut value = Value::Array(vec![op.item.clone()]);
    for step in op.path[depth + 1..].iter().rev() {
        let Step::Key(k) = step else {
            return Err(Unsupported("an index into a missing sequence".to_owned()));
        };
        let mut map = serde_json::Map::new();
        map.insert((*k).to_owned(), value);
        value = Value::Object(map);
    }
    if flow {
        // Quoted as JSON: a JSON file stays JSON.
        let entry = format!("{}: {}", Value::String(key.to_owned()), flow_text(&value));
        return insert_in_flow(text, start, &entry, !entries.is_empty());
    }
    let indent = block_indent(text, start)?;
    let at = block_end(text, start, indent, false);
    Ok(insert_lines(
        text,
        at,
        &block_entry(key, &value, indent, style),
        style.eol,
    ))
}

/// The column (0-based) of a block collection starting at `start`: its first key or dash, which
/// must follow nothing but indentation or the `- ` of the item holding it.
fn block_indent(text: &str, start: usize) -> Result<usize, Unsupported> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..start];
    let mut rest = before.trim_start_matches(' ');
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start_matches(' ');
    }
    if !rest.is_empty() {
        return Err(Unsupported(
            "a block collection that does not start its line".to_owned(),
        ));
    }
    Ok(before.chars().count())
}

/// The column (0-based) of the dash of a block sequence starting at `start` (its dash, or its
/// first item's start after the dash): only indentation may precede the dash on its line.
fn dash_column(text: &str, start: usize) -> Result<usize, Unsupported> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if text[start..].starts_with('-') {
        let before = &text[line_start..start];
        return if before.bytes().all(|b| b == b' ') {
            Ok(before.len())
        } else {
            Err(Unsupported("a sequence whose dash does not start its line".to_owned()))
        };
    }
    let before = text[line_start..start].trim_end_matches(' ');
    match before.strip_suffix('-') {
        Some(pad) if pad.bytes().all(|b| b == b' ') => Ok(pad.len()),
        _ => Err(Unsupported("a sequence whose dash does not start its line".to_owned())),
    }
}

/// Where the block collection at column `indent` starting at `start` ends: just after the last
/// line that belongs to it (a deeper line, or one at its column that is a key of a mapping or an
/// item of a sequence). Blank lines and shallower comments are passed over, not included.
fn block_end(text: &str, start: usize, indent: usize, sequence: bool) -> usize {
    let mut end = text[start..].find('\n').map_or(text.len(), |i| start + i + 1);
    let mut at = end;
    while at < text.len() {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let line = text[at..line_end].trim_end_matches(['\n', '\r']);
        at = line_end;
        let content = line.trim_start_matches(' ');
        let column = line.len() - content.len();
        if content.is_empty() || (content.starts_with('#') && column <= indent) {
            continue;
        }
        if column == 0 && (line.starts_with("---") || line.starts_with("...")) {
            break;
        }
        let member =
            column > indent || (column == indent && (!sequence || content == "-" || content.starts_with("- ")));
        if !member {
            break;
        }
        end = line_end;
    }
    end
}

/// Inserts `lines` (each ending in `eol`) at byte `at`, which is a line start or the end.
fn insert_lines(text: &str, at: usize, lines: &str, eol: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len() + 2);
    out.push_str(&text[..at]);
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(lines);
    out.push_str(&text[at..]);
    out
}

/// Inserts `entry` before the bracket closing the flow collection opened at `start`.
fn insert_in_flow(text: &str, start: usize, entry: &str, has_items: bool) -> Result<String, Unsupported> {
    let close = flow_close(text, start).ok_or_else(|| Unsupported("an unclosed flow collection".to_owned()))?;
    // After the last item, before any space or comma that precedes the bracket.
    let body = text[start + 1..close].trim_end_matches([' ', '\n', '\r', '\t']);
    let trailing_comma = body.ends_with(',');
    let at = start + 1 + body.len();
    let glue = match (has_items, trailing_comma) {
        (true, false) => ", ",
        (true, true) => " ",
        (false, _) => "",
    };
    Ok(format!("{}{glue}{entry}{}", &text[..at], &text[at..]))
}

/// The byte index of the bracket closing the one at `start`, skipping quoted scalars.
fn flow_close(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'#' if i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `value` as a flow text: JSON, which YAML reads as the same data (and a JSON file stays JSON).
fn flow_text(value: &Value) -> String {
    value.to_string()
}

/// A scalar as YAML: plain when kubectl's YAML would read it back as the same string, otherwise
/// double-quoted (JSON quoting is YAML's).
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
                && s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/' || c == '_')
                && crate::load::yaml::resolve_plain(s) == NodeValue::Str(s.clone());
            if plain { s.clone() } else { value.to_string() }
        }
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(m) if m.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}

/// A sequence item at column `indent`: `- ` then the item, a mapping's first key on the dash's line.
pub fn block_item(item: &Value, indent: usize, style: Style) -> String {
    let pad = " ".repeat(indent);
    let eol = style.eol;
    match item {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (i, (k, v)) in map.iter().enumerate() {
                let entry = block_entry(k, v, indent + 2, style);
                if i == 0 {
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&entry[indent + 2..]);
                } else {
                    out.push_str(&entry);
                }
            }
            out
        }
        Value::Array(a) if !a.is_empty() => {
            let mut out = format!("{pad}-{eol}");
            for v in a {
                out.push_str(&block_item(v, indent + 2, style));
            }
            out
        }
        scalar => format!("{pad}- {}{eol}", scalar_text(scalar)),
    }
}

/// A mapping entry at column `indent`; nested mappings indented by two, sequences as `style` says.
pub fn block_entry(key: &str, value: &Value, indent: usize, style: Style) -> String {
    let pad = " ".repeat(indent);
    let eol = style.eol;
    let key = scalar_text(&Value::String(key.to_owned()));
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut out = format!("{pad}{key}:{eol}");
            for (k, v) in map {
                out.push_str(&block_entry(k, v, indent + 2, style));
            }
            out
        }
        Value::Array(a) if !a.is_empty() => {
            let mut out = format!("{pad}{key}:{eol}");
            for v in a {
                out.push_str(&block_item(v, indent + style.seq_indent, style));
            }
            out
        }
        scalar => format!("{pad}{key}: {}{eol}", scalar_text(scalar)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(text: &str) -> Node {
        let mut docs = Vec::new();
        assert!(
            crate::load::for_each_document(text, |n| docs.push(n)).is_none(),
            "{text}"
        );
        docs.remove(0)
    }

    fn edit(text: &str, path: Vec<Step>, item: Value) -> String {
        let op = Append { path, item };
        let out = append(text, &doc(text), &op).expect("editable");
        let mut want = doc(text).to_json();
        op.apply_to(&mut want).expect("applies");
        assert_eq!(doc(&out).to_json(), want, "{out}");
        out
    }

    #[test]
    fn appends_to_a_block_sequence_after_its_last_item_and_keeps_comments() {
        let text =
            "spec:\n  # the volumes\n  volumes:\n  - name: a # first\n    emptyDir: {}\n\n  # next\n  containers: []\n";
        let out = edit(
            text,
            vec![Step::Key("spec"), Step::Key("volumes")],
            json!({"name": "b", "hostPath": {"path": "/x"}}),
        );
        assert_eq!(
            out,
            "spec:\n  # the volumes\n  volumes:\n  - name: a # first\n    emptyDir: {}\n  - name: b\n    hostPath:\n      path: /x\n\n  # next\n  containers: []\n"
        );
    }

    #[test]
    fn makes_missing_keys_at_the_end_of_the_mapping_and_appends_to_flow_sequences() {
        let text = "spec:\n  containers: [{name: a}]\nstatus: {}\n";
        let out = edit(
            text,
            vec![Step::Key("spec"), Step::Key("affinity"), Step::Key("terms")],
            json!({"w": 1}),
        );
        assert_eq!(
            out,
            "spec:\n  containers: [{name: a}]\n  affinity:\n    terms:\n      - w: 1\nstatus: {}\n"
        );
        let out = edit(
            text,
            vec![Step::Key("spec"), Step::Key("containers")],
            json!({"name": "b"}),
        );
        assert_eq!(out, "spec:\n  containers: [{name: a}, {\"name\":\"b\"}]\nstatus: {}\n");
    }

    #[test]
    fn edits_inside_sequence_items_and_flow_mappings_with_crlf() {
        let text = "c:\n- name: a\n  image: x\n- name: b\n";
        let out = edit(text, vec![Step::Key("c"), Step::Index(0), Step::Key("m")], json!("v"));
        assert_eq!(out, "c:\n- name: a\n  image: x\n  m:\n  - v\n- name: b\n");
        let text = "a: {b: 1}\r\nz: 2\r\n";
        let out = edit(text, vec![Step::Key("a"), Step::Key("c")], json!("yes"));
        assert_eq!(out, "a: {b: 1, \"c\": [\"yes\"]}\r\nz: 2\r\n");
        let text = "a:\r\n  b: 1";
        let out = edit(text, vec![Step::Key("a"), Step::Key("c")], json!(1));
        assert_eq!(out, "a:\r\n  b: 1\r\n  c:\r\n    - 1\r\n");
    }

    #[test]
    fn does_not_cut_a_literal_block_or_cross_the_document_end() {
        let text = "a:\n  s: |\n    line\n    # not a comment\nb: 1\n---\nc: 2\n";
        let out = edit(text, vec![Step::Key("a"), Step::Key("l")], json!(1));
        assert_eq!(
            out,
            "a:\n  s: |\n    line\n    # not a comment\n  l:\n    - 1\nb: 1\n---\nc: 2\n"
        );
        let text = "a: 1\n---\nb: 2\n";
        let out = edit(text, vec![Step::Key("l")], json!(1));
        assert_eq!(out, "a: 1\nl:\n  - 1\n---\nb: 2\n");
    }

    #[test]
    fn crlf_sequences_of_flow_mappings() {
        let text = "a:\r\n  t:\r\n  - m:\r\n    - {k: x}\r\n  - f:\r\n    - {k: y}\r\n  c: 1\r\n";
        let out = edit(
            text,
            vec![Step::Key("a"), Step::Key("t"), Step::Index(0), Step::Key("m")],
            json!({"k": "z"}),
        );
        assert!(out.contains("    - {k: x}\r\n    - k: z\r\n  - f:"), "{out}");
        // A block sequence whose first item is a flow sequence, and a flow sequence in an item.
        let text = "l:\n- [a]\n- [b, c]\n";
        let out = edit(text, vec![Step::Key("l")], json!(["d"]));
        assert_eq!(out, "l:\n- [a]\n- [b, c]\n-\n  - d\n");
        let out = edit(text, vec![Step::Key("l"), Step::Index(1)], json!("d"));
        assert_eq!(out, "l:\n- [a]\n- [b, c, \"d\"]\n");
    }

    #[test]
    fn refuses_layouts_it_does_not_edit() {
        let text = "a:\n  v:\n";
        let op = Append {
            path: vec![Step::Key("a"), Step::Key("v")],
            item: json!(1),
        };
        assert!(append(text, &doc(text), &op).is_err());
        let text = "a: - - x\n";
        assert!(crate::load::for_each_document(text, |_| {}).is_some());
    }

    #[test]
    fn quotes_strings_yaml_would_read_otherwise() {
        assert_eq!(scalar_text(&json!("true")), "\"true\"");
        assert_eq!(scalar_text(&json!("0755")), "\"0755\"");
        assert_eq!(scalar_text(&json!("a: b")), "\"a: b\"");
        assert_eq!(scalar_text(&json!("kubernetes.io/hostname")), "kubernetes.io/hostname");
        assert_eq!(scalar_text(&json!("-x")), "\"-x\"");
    }
}
