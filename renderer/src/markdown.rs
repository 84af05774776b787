//! The one place that owns Markdown options. Raw HTML in Markdown is never passed through: it
//! is rendered as escaped text, so Markdown from evidence cannot inject markup or scripts.

use pulldown_cmark::{html, Event, Options, Parser};

/// Renders Markdown to safe HTML.
pub fn to_html(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    // Links may only be relative or http(s): no `javascript:` or `data:` URLs.
    out.replace("href=\"javascript:", "href=\"#blocked:").replace("href=\"data:", "href=\"#blocked:")
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_html_is_escaped() {
        let html = super::to_html("**ok** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>ok</strong>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }
}
