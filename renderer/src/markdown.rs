//! The one place that owns Markdown options and sanitizing. Raw HTML in Markdown is never passed
//! through: it is rendered as escaped text. The HTML pulldown-cmark writes is then cleaned by
//! ammonia with an allow-list of tags, attributes and URL schemes, so Markdown from evidence can
//! neither inject markup or scripts nor link to `javascript:`, `data:` or any other scheme.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{html, Event, Options, Parser};

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(HashSet::from(["http", "https", "mailto"]))
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(Some("noopener noreferrer nofollow"))
            // Markdown's own output needs no classes, styles, ids or images from elsewhere.
            .rm_tags(["img"])
            .rm_generic_attributes(["lang", "title"]);
        b
    })
}

/// Renders Markdown to safe HTML.
pub fn to_html(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    cleaner().clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn raw_html_is_escaped() {
        let html = to_html("**ok** <script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>ok</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
    }

    #[test]
    fn only_http_mailto_and_relative_links_keep_their_target() {
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](JAVASCRIPT:alert(1))",
            "[x](  javascript:alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<javascript:alert(1)>",
            "![x](https://example.com/track.png)",
        ] {
            let html = to_html(hostile);
            for href in html.split("href=\"").skip(1).map(|rest| rest.split('"').next().unwrap_or_default()) {
                // A link either has an allowed scheme or none at all (a relative path: a
                // percent-encoded tab is not a scheme).
                let scheme = href
                    .split_once(':')
                    .map(|(s, _)| s)
                    .filter(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)));
                assert!(scheme.is_none_or(|s| ["http", "https", "mailto"].contains(&s)), "{hostile} -> {html}");
            }
            assert!(!html.contains("<img"), "{hostile} -> {html}");
        }
        let html = to_html("[a](https://example.com/a) [b](../controls/LOG-01.html) [c](mailto:x@example.com)");
        assert!(html.contains("href=\"https://example.com/a\""), "{html}");
        assert!(html.contains("href=\"../controls/LOG-01.html\""), "{html}");
        assert!(html.contains("href=\"mailto:x@example.com\""), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""), "{html}");
    }

    #[test]
    fn tables_and_emphasis_survive() {
        let html = to_html("| a | b |\n| - | - |\n| *1* | `2` |\n\n~~gone~~");
        assert!(html.contains("<table>") && html.contains("<em>1</em>") && html.contains("<code>2</code>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
    }
}
