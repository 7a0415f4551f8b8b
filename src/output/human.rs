//! `--format human`: rustc-style findings — `error[GFS101]: message`, `--> file:line:col`, the
//! offending line and a caret under the value, help — then a summary line.

use std::io::{self, Write};

use crate::validate::{Diagnostic, Report, Severity};

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain text.
    Plain,
    /// ANSI colours.
    Color,
}

struct Paint(Style);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        match self.0 {
            Style::Plain => text.to_owned(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint(style);
    for d in &report.diagnostics {
        write_one(d, &paint, out)?;
    }
    let s = &report.summary;
    let counts = format!(
        "{} error(s), {} warning(s) in {} file(s) ({} document(s), {} of other kinds skipped)",
        s.errors, s.warnings, s.files, s.documents, s.skipped
    );
    let line = if s.errors > 0 {
        paint.wrap("1;31", &counts)
    } else if s.warnings > 0 {
        paint.wrap("1;33", &counts)
    } else {
        paint.wrap("1;32", &counts)
    };
    writeln!(out, "{line}")
}

fn write_one(d: &Diagnostic, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let (label, colour) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    writeln!(
        out,
        "{}{} {}",
        paint.wrap(colour, &format!("{label}[{}]", d.code)),
        paint.wrap("1", ":"),
        paint.wrap("1", &d.message)
    )?;
    let gutter = " ".repeat(d.line.to_string().len());
    let context = match (d.object.is_empty(), d.path.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(" ({})", d.object),
        (false, false) => format!(" ({} {})", d.object, d.path),
    };
    writeln!(
        out,
        "{gutter}{} {}:{}:{}{context}",
        paint.wrap("1;34", "-->"),
        d.file,
        d.line,
        d.column
    )?;
    if let Some(source) = &d.source_line {
        let bar = paint.wrap("1;34", "|");
        let shown: String = source.chars().take(200).collect();
        writeln!(out, "{gutter} {bar}")?;
        writeln!(out, "{} {bar} {shown}", paint.wrap("1;34", &d.line.to_string()))?;
        let column = usize::try_from(d.column.saturating_sub(1)).unwrap_or(0);
        let lead: String = shown
            .chars()
            .take(column)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = caret_width(&shown, column);
        writeln!(out, "{gutter} {bar} {lead}{}", paint.wrap(colour, &"^".repeat(width)))?;
    }
    if let Some(help) = &d.help {
        writeln!(
            out,
            "{gutter} {} {}",
            paint.wrap("1;34", "="),
            paint.wrap("1", &format!("help: {help}"))
        )?;
    }
    writeln!(out)
}

/// Underlines the scalar token starting at `column` (up to a comment or the end of the line).
fn caret_width(line: &str, column: usize) -> usize {
    let rest: String = line.chars().skip(column).collect();
    let end = rest.find(" #").unwrap_or(rest.len());
    let token = rest[..end].trim_end();
    let token = token.split_once(": ").map_or(token, |(k, _)| k).trim_end_matches(':');
    // A flow collection item (`[a, b]`, `{k: v}`) ends at the next separator; a block scalar
    // may hold commas (`quotaList: 1Gi,2Gi`).
    // Inside a flow collection when brackets opened before the token are not all closed
    // (quoted text is not YAML structure and does not count).
    let mut depth = 0i32;
    let mut quote = None;
    for c in line.chars().take(column) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    let in_flow = depth > 0;
    let token = match token.chars().next() {
        // A quoted scalar ends at its closing quote, whatever it holds.
        Some(q @ ('"' | '\'')) => token[1..].find(q).map_or(token, |end| &token[..end + 2]),
        _ if in_flow => token.split([',', ']', '}']).next().unwrap_or(token),
        _ => token,
    };
    token.chars().count().clamp(1, 80)
}

#[cfg(test)]
mod tests {
    use super::caret_width;

    #[test]
    fn carets_cover_the_value_alone() {
        let flow = "  tieredstore: {levels: [{mediumtype: SSD, quota: 10Gi, high: 0.9}]}";
        let column = flow.find("0.9").unwrap_or_default();
        assert_eq!(caret_width(flow, column), 3);
        let item = "    - {mountPoint: \"https://a/b,c\", name: x}";
        assert_eq!(
            caret_width(item, item.find('"').unwrap_or_default()),
            "\"https://a/b,c\"".len()
        );
        let block = "        quotaList: 1Gi,2Gi # two paths";
        assert_eq!(
            caret_width(block, block.find("1Gi").unwrap_or_default()),
            "1Gi,2Gi".len()
        );
    }
}
