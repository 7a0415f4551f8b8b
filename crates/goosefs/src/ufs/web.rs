//! Directory listings of a Web UFS, read from the index pages HTTP servers generate (Apache's and
//! nginx's autoindex, Python's `http.server`), as GooseFS's web UFS reads them: a page is a
//! directory when its title starts with one of `goosefs.underfs.web.titles`; its entries are the
//! links that name a child, minus the parent links `goosefs.underfs.web.parent.names` lists.

use std::time::Duration;

use opendal::{ErrorKind, Operator, services};

use super::{Built, Entry, Target, Ufs, UfsError, UfsSettings, entry_of, shown};

/// The most HEADs of one listing in flight (nginx's default keeps 1,000 requests per
/// connection; reqwest pools connections per host).
const HEADS: usize = 64;

/// How a Web UFS's index pages are read.
#[derive(Clone)]
pub(super) struct Index {
    /// The mount's base URL.
    base: String,
    /// The client (same redirect policy and credentials as OpenDAL's reads).
    client: reqwest::Client,
    rules: IndexRules,
}

/// The operator for a Web UFS: user info travels as a (sensitive) Basic header, never in a URL
/// (OpenDAL's and reqwest's errors name URLs); redirects stay within the origin.
///
/// # Errors
/// [`UfsError::Config`].
pub(super) fn build(t: &Target<'_>, settings: &UfsSettings) -> Result<Built, UfsError> {
    t.needs_authority("host")?;
    let (userinfo, host) = match t.authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, t.authority),
    };
    let endpoint = format!("{}://{host}", t.scheme);
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(userinfo) = userinfo {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(userinfo);
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| t.refused("the user info is not a valid header"))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout)
        .redirect(same_origin_redirects())
        .default_headers(headers)
        .build()
        .map_err(|e| t.refused(e.to_string()))?;
    // OpenDAL's reads go through the same client (and so the same redirect policy).
    let transport =
        opendal::HttpTransporter::new(opendal_http_transport_reqwest::ReqwestTransport::new(client.clone()));
    let op = Operator::new(services::Http::default().endpoint(&endpoint).root(&t.root))
        .map_err(|e| t.refused(e.to_string()))?
        .with_context(opendal::OperationContext::new().with_http_transport(transport));
    Ok(Built {
        op,
        web: Some(Index {
            base: format!("{endpoint}{}", t.root),
            client,
            rules: settings.index.clone(),
        }),
        local: None,
    })
}

/// A Web UFS follows redirects within its own origin only (scheme, host and port), at most 10:
/// the workers and masters sit on the host network, and a UFS server (or whoever controls its
/// answers) must not be able to point them at other addresses.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(reqwest::Url::origin);
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if first.as_ref() == Some(&attempt.url().origin()) {
            attempt.follow()
        } else {
            let to = attempt.url().origin().ascii_serialization();
            attempt.error(format!("a redirect to another origin ({to}) is not followed"))
        }
    })
}

/// The largest Web UFS index page read (nginx's autoindex of 100,000 files is about 15 MB).
const MAX_INDEX_PAGE: usize = 128 << 20;

impl Ufs {
    /// A Web UFS listing: the index page's links, each file's length and time by HEAD, at
    /// most [`HEADS`] at a time.
    pub(super) async fn list_index(&self, index: &Index, prefix: &str) -> Result<Vec<Entry>, UfsError> {
        let links = self.index_links(index, prefix).await?;
        let mut out = Vec::with_capacity(links.len());
        let mut set = tokio::task::JoinSet::new();
        let mut links = links.into_iter();
        loop {
            // A window that slides: a slow HEAD holds back one slot, not a batch.
            while set.len() < HEADS {
                let Some(link) = links.next() else { break };
                let (op, path) = (self.op.clone(), format!("{prefix}{}", link.name));
                if let Some((length, mtime_ms)) = link.stat {
                    // The index gave exact sizes: no HEAD. The fingerprint has the index's
                    // minute resolution (a HEAD's Last-Modified has seconds).
                    out.push(Entry {
                        fingerprint: format!("{length}:{mtime_ms}:index"),
                        name: link.name,
                        dir: false,
                        length,
                        mtime_ms,
                    });
                    continue;
                }
                set.spawn(async move {
                    if link.dir {
                        return (link, path, Ok(None));
                    }
                    let meta = op.stat(&path).await.map(Some);
                    (link, path, meta)
                });
            }
            let Some(joined) = set.join_next().await else { break };
            let Ok((link, path, meta)) = joined else { continue };
            match meta {
                Ok(None) => out.push(Entry {
                    name: link.name,
                    dir: true,
                    length: 0,
                    mtime_ms: 0,
                    fingerprint: String::new(),
                }),
                Ok(Some(meta)) => out.push(entry_of(link.name, &meta)),
                // A link to nothing (a broken index entry) is not listed.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(self.error("stat", &path, e)),
            }
        }
        Ok(out)
    }

    /// The links of the index page of `prefix` (no HEADs: what a mount's check reads).
    pub(super) async fn index_links(&self, index: &Index, prefix: &str) -> Result<Vec<Link>, UfsError> {
        let Index { base, client, rules } = index;
        let url = format!("{base}{}", crate::proto::path::percent_encode(prefix));
        let io = |e: Box<dyn std::error::Error + Send + Sync>| UfsError::Io {
            uri: shown(&self.uri),
            op: "list",
            path: if prefix.is_empty() { "/" } else { prefix }.to_owned(),
            source: e,
        };
        let mut attempt = 0;
        let page = loop {
            let result = async {
                let mut response = client.get(&url).send().await?;
                let status = response.status();
                // Read up to the bound: a UFS answers what it likes, and this is the master's memory.
                let mut page = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    if page.len() + chunk.len() > MAX_INDEX_PAGE {
                        return Ok((status, None));
                    }
                    page.extend_from_slice(&chunk);
                }
                Ok::<_, reqwest::Error>((status, Some(String::from_utf8_lossy(&page).into_owned())))
            }
            .await;
            match result {
                Ok((status, None)) if status.is_success() => {
                    return Err(io(
                        format!("GET {url}: an index page over {MAX_INDEX_PAGE} bytes").into()
                    ));
                }
                Ok((status, Some(text))) if status.is_success() => break text,
                Ok((status, _)) if status.as_u16() == 404 => {
                    return Err(UfsError::NotFound {
                        uri: shown(&self.uri),
                        path: prefix.to_owned(),
                    });
                }
                // The server's own answer, not "does not exist": a refusal is the thing to fix.
                Ok((status, _)) if status.as_u16() == 401 || status.as_u16() == 403 => {
                    return Err(UfsError::Denied {
                        uri: shown(&self.uri),
                        path: if prefix.is_empty() { "/" } else { prefix }.to_owned(),
                        source: format!("{status} from {url}").into(),
                    });
                }
                Ok((status, _)) if (status.is_server_error() || status.as_u16() == 429) && attempt < 5 => {}
                Ok((status, _)) => return Err(io(format!("GET {url}: HTTP {status}").into())),
                Err(e) if attempt < 5 && (e.is_timeout() || e.is_connect()) => {}
                Err(e) => return Err(io(Box::new(e))),
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(4))).await;
        };
        parse_index(&page, rules).ok_or_else(|| UfsError::NotFound {
            uri: shown(&self.uri),
            path: prefix.to_owned(),
        })
    }
}

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
    /// Exact length and time (ms since the epoch, UTC) when the index gives both (nginx's
    /// autoindex with its default exact sizes): the listing then needs no HEAD for this file.
    pub stat: Option<(u64, i64)>,
}

/// The entries of `page`, or `None` when it is not an index page.
pub fn parse_index(page: &str, rules: &IndexRules) -> Option<Vec<Link>> {
    let title = between(page, "<title>", "</title>").unwrap_or_default();
    let title = decode_entities(title.trim());
    if !rules.titles.iter().any(|t| title.starts_with(t.as_str())) {
        return None;
    }
    let mut links = Vec::new();
    // Linear in the links: a 100,000-file index must not compare every pair.
    let mut seen = std::collections::HashSet::new();
    let mut rest = page;
    while let Some(at) = find_ci(rest, "<a ") {
        rest = &rest[at + 3..];
        let Some(end) = rest.find('>') else { break };
        let attributes = &rest[..end];
        let text_end = find_ci(&rest[end..], "</a>").map_or(rest.len(), |i| end + i);
        let text = decode_entities(rest[end + 1..text_end].trim());
        rest = &rest[text_end..];
        let Some(href) = href(attributes) else { continue };
        if let Some(mut link) = child(&href, &text, rules)
            && seen.insert((link.name.clone(), link.dir))
        {
            if !link.dir {
                // What follows the link on its line: nginx writes the time and the size there.
                let line = rest.get(4..).unwrap_or_default();
                let line = &line[..line.find(['\n', '<']).unwrap_or(line.len())];
                link.stat = nginx_stat(line);
            }
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
    (name != "." && name != "..").then_some(Link { name, dir, stat: None })
}

/// The time and exact size nginx's autoindex writes after a file's link
/// (`   07-Dec-2026 04:43              102400`, times in UTC), or `None` for anything else (an
/// approximate `100K`, Apache's table cells, a page without sizes).
fn nginx_stat(line: &str) -> Option<(u64, i64)> {
    let mut parts = line.split_whitespace();
    let (date, time, size) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut d = date.split('-');
    let (day, month, year) = (d.next()?, d.next()?, d.next()?);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let (hour, minute) = time.split_once(':')?;
    let (hour, minute): (i64, i64) = (hour.parse().ok()?, minute.parse().ok()?);
    if !(1..=31).contains(&day) || !(0..24).contains(&hour) || !(0..60).contains(&minute) {
        return None;
    }
    let days = goosefs_conf::duration::days_from_civil(year, month, day);
    Some((size.parse().ok()?, ((days * 24 + hour) * 60 + minute) * 60_000))
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
        // nginx's exact sizes and UTC times: no HEAD needed (2024-01-01 10:00 UTC).
        assert_eq!(links[0].stat, Some((12, 1_704_103_200_000)));
        assert_eq!(links[1].stat, None);
    }

    #[test]
    fn only_exact_nginx_sizes_are_taken_from_an_index() {
        assert_eq!(
            nginx_stat("   07-Dec-2026 04:43              102400"),
            Some((102_400, 1_796_618_580_000))
        );
        for not_exact in [
            "   07-Dec-2026 04:43   100K",
            "   07-Dec-2026 04:43   -",
            "   2024-01-01 10:00   12",
            "   32-Dec-2026 04:43   1",
            "   07-Foo-2026 04:43   1",
            "   07-Dec-2026 25:00   1",
            "",
            "   07-Dec-2026 04:43   12 extra",
        ] {
            assert_eq!(nginx_stat(not_exact), None, "{not_exact:?}");
        }
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

    #[test]
    fn a_big_index_keeps_each_link_once_in_page_order() {
        let mut page =
            String::from("<html><head><title>Index of /big/</title></head><body><pre><a href=\"../\">../</a>\n");
        for i in 0..100_000 {
            page.push_str(&format!(
                "<a href=\"f{i}.bin\">f{i}.bin</a>    07-Dec-2026 01:00    100\n"
            ));
        }
        // nginx lists a name once; a page that repeats links (sort links, mirrors) is de-duplicated.
        page.push_str("<a href=\"f7.bin\">again</a><a href=\"d/\">d/</a></pre></body></html>");
        let links = parse_index(&page, &IndexRules::default()).expect("an index page");
        assert_eq!(links.len(), 100_001);
        assert_eq!(links[0].name, "f0.bin");
        assert_eq!(links[99_999].name, "f99999.bin");
        assert_eq!(
            links[100_000],
            Link {
                name: "d".into(),
                dir: true,
                stat: None
            }
        );
    }
}
