//! Directory listings of a Web UFS, read from the index pages HTTP servers generate (Apache's and
//! nginx's autoindex, Python's `http.server`), as GooseFS's web UFS reads them: a page is a
//! directory when its title starts with one of `goosefs.underfs.web.titles`; its entries are the
//! links that name a child, minus the parent links `goosefs.underfs.web.parent.names` lists.

/// GooseFS's defaults for the two properties.
pub const DEFAULT_TITLES: &str = "Index of ,Directory listing for ";
/// GooseFS's default parent link names.
pub const DEFAULT_PARENT_NAMES: &str = "Parent Directory,..,../";

/// How index pages are recognised.
#[derive(Debug, Clone)]
pub struct IndexRules {
    /// Title prefixes of index pages.
    pub titles: Vec<String>,
    /// Link texts (or targets) of parent links.
    pub parent_names: Vec<String>,
}

impl IndexRules {
    /// The rules from the two comma-separated property values.
    pub fn new(titles: &str, parent_names: &str) -> IndexRules {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|p| p.trim_start().to_owned())
                .filter(|p| !p.trim().is_empty())
                .collect()
        };
        IndexRules {
            titles: split(titles),
            parent_names: split(parent_names).into_iter().map(|p| p.trim().to_owned()).collect(),
        }
    }
}

impl Default for IndexRules {
    fn default() -> Self {
        IndexRules::new(DEFAULT_TITLES, DEFAULT_PARENT_NAMES)
    }
}

/// One entry of an index page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The child's name, percent-decoded, without a trailing slash.
    pub name: String,
    /// The link ends in `/`.
    pub dir: bool,
}

/// The entries of `page`, or `None` when it is not an index page.
pub fn parse_index(page: &str, rules: &IndexRules) -> Option<Vec<Link>> {
    let title = between(page, "<title>", "</title>").unwrap_or_default();
    let title = decode_entities(title.trim());
    if !rules.titles.iter().any(|t| title.starts_with(t.as_str())) {
        return None;
    }
    let mut links = Vec::new();
    let mut rest = page;
    while let Some(at) = find_ci(rest, "<a ") {
        rest = &rest[at + 3..];
        let Some(end) = rest.find('>') else { break };
        let attributes = &rest[..end];
        let text_end = find_ci(&rest[end..], "</a>").map_or(rest.len(), |i| end + i);
        let text = decode_entities(rest[end + 1..text_end].trim());
        rest = &rest[text_end..];
        let Some(href) = href(attributes) else { continue };
        if let Some(link) = child(&href, &text, rules)
            && !links.contains(&link)
        {
            links.push(link);
        }
    }
    Some(links)
}

/// The child a link names, if it names one: relative, one level deep, not a parent, sort or
/// anchor link.
fn child(href: &str, text: &str, rules: &IndexRules) -> Option<Link> {
    if rules.parent_names.iter().any(|p| p == text || p == href) {
        return None;
    }
    if href.is_empty()
        || href.starts_with(['?', '#', '/'])
        || href.contains("://")
        || href.starts_with("mailto:")
        || href.starts_with("..")
        || href == "./"
    {
        return None;
    }
    let href = href.strip_prefix("./").unwrap_or(href);
    let dir = href.ends_with('/');
    let name = href.trim_end_matches('/');
    if name.is_empty() || name.contains('/') || name.contains('?') {
        return None;
    }
    let name = percent_decode(name)?;
    (name != "." && name != "..").then_some(Link { name, dir })
}

/// The value of the `href` attribute.
fn href(attributes: &str) -> Option<String> {
    let at = find_ci(attributes, "href=")?;
    let value = &attributes[at + 5..];
    let (quote, value) = match value.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &value[1..]),
        _ => (None, value),
    };
    let end = match quote {
        Some(q) => value.find(q)?,
        None => value.find(char::is_whitespace).unwrap_or(value.len()),
    };
    Some(decode_entities(&value[..end]))
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = find_ci(text, open)? + open.len();
    let end = find_ci(&text[start..], close)?;
    Some(&text[start..start + end])
}

/// Case-insensitive `find` of an ASCII needle.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn decode_entities(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

/// Decodes `%XX` escapes; `None` when they do not make UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(links: &[Link]) -> Vec<(&str, bool)> {
        links.iter().map(|l| (l.name.as_str(), l.dir)).collect()
    }

    #[test]
    fn python_http_server_pages_list_files_and_directories() {
        let page = r#"<!DOCTYPE HTML>
<html lang="en"><head><meta charset="utf-8"><title>Directory listing for /hbase/</title></head>
<body><h1>Directory listing for /hbase/</h1><hr><ul>
<li><a href="big.bin">big.bin</a></li>
<li><a href="docs/">docs/</a></li>
<li><a href="with%20space.txt">with space.txt</a></li>
</ul><hr></body></html>"#;
        let links = parse_index(page, &IndexRules::default()).expect("an index page");
        assert_eq!(
            names(&links),
            [("big.bin", false), ("docs", true), ("with space.txt", false)]
        );
    }

    #[test]
    fn apache_pages_skip_sort_and_parent_links() {
        let page = r#"<html><head><title>Index of /apache/hbase/stable</title></head><body>
<h1>Index of /apache/hbase/stable</h1><table>
<tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/apache/hbase/">Parent Directory</a></td></tr>
<tr><td><a href="CHANGES.md">CHANGES.md</a></td><td>2024-01-01 10:00</td></tr>
<tr><td><A HREF='hbase-2.5.8-bin.tar.gz'>hbase-2.5.8-bin.tar.gz</A></td></tr>
</table></body></html>"#;
        let links = parse_index(page, &IndexRules::default()).expect("an index page");
        assert_eq!(
            names(&links),
            [("CHANGES.md", false), ("hbase-2.5.8-bin.tar.gz", false)]
        );
    }

    #[test]
    fn nginx_pages_skip_the_dotdot_link() {
        let page = "<html>\r\n<head><title>Index of /data/</title></head>\r\n<body>\r\n<h1>Index of /data/</h1><hr><pre><a href=\"../\">../</a>\r\n<a href=\"a%26b.csv\">a&amp;b.csv</a>   01-Jan-2024 10:00   12\r\n<a href=\"sub/\">sub/</a>\r\n</pre><hr></body>\r\n</html>";
        let links = parse_index(page, &IndexRules::default()).expect("an index page");
        assert_eq!(names(&links), [("a&b.csv", false), ("sub", true)]);
    }

    #[test]
    fn pages_without_an_index_title_are_files() {
        assert!(
            parse_index(
                "<html><title>Welcome</title><a href='x'>x</a></html>",
                &IndexRules::default()
            )
            .is_none()
        );
        assert!(parse_index("binary \u{0}\u{1} data", &IndexRules::default()).is_none());
        let rules = IndexRules::new("Files in ", DEFAULT_PARENT_NAMES);
        let links = parse_index("<title>Files in /x</title><a href=\"y\">y</a>", &rules).expect("custom title");
        assert_eq!(names(&links), [("y", false)]);
    }

    #[test]
    fn hostile_links_are_not_children() {
        let page = r#"<title>Index of /</title><a href="../../etc/passwd">x</a><a href="http://evil/">e</a>
<a href="a/b">deep</a><a href="%FF">bad utf8</a><a href=".">dot</a><a href="ok">ok</a><a href="ok">again</a><a"#;
        let links = parse_index(page, &IndexRules::default()).expect("an index page");
        assert_eq!(names(&links), [("ok", false)]);
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b%2").as_deref(), Some("a b%2"));
    }
}
