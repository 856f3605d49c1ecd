//! Server-rendered SVG charts: stacked bars with axis labels, no script. Pure functions from
//! numbers to markup, so they are unit tested here.
//!
//! Each chart is an `<svg class="chart" role="img" aria-label="...">`; each non-zero segment a
//! `<rect class="bar" data-kind="<key>" data-value="<n>">` with a `<title>` giving its value
//! (a tooltip, and what a screen reader can reach). Colours are presentation attributes (the
//! Content Security Policy allows no inline style).

use std::fmt::Write;

/// Colours by key position (the legend shows the same).
const PALETTE: [&str; 8] = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];

const WIDTH: u32 = 720;
const HEIGHT: u32 = 200;
const LEFT: u32 = 44;
const BOTTOM: u32 = 22;
const TOP: u32 = 8;

/// One bar: its label on the x axis, what its tooltip names it, and its value per key (in the
/// order of [`Chart::keys`]).
pub struct Bar {
    pub label: String,
    pub title: String,
    pub values: Vec<u64>,
}

pub struct Chart<'a> {
    /// The element id.
    pub id: &'a str,
    /// What the chart shows, for `aria-label`.
    pub label: &'a str,
    /// The stacked keys, bottom first.
    pub keys: &'a [String],
    pub bars: Vec<Bar>,
    /// Print every n-th bar's label (the axis would not fit them all).
    pub label_every: usize,
}

/// The colour of the key at `index`.
pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at least `n`, and at least 1.
pub fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= n {
                return v;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// The chart's SVG markup.
pub fn stacked_bars(chart: &Chart<'_>) -> String {
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max_total = chart.bars.iter().map(|b| b.values.iter().sum::<u64>()).max().unwrap_or(0);
    let top = nice_ceiling(max_total);
    let n = chart.bars.len().max(1) as f64;
    let slot = f64::from(plot_w) / n;
    let bar_w = (slot * 0.8).max(1.0);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#,
        id = escape(chart.id),
        label = escape(chart.label),
    );
    // Axes and the y labels: 0, half and the top.
    let base = TOP + plot_h;
    let _ = write!(svg, r##"<line x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#9ca3af"/>"##);
    for (value, y) in [(0, base), (top / 2, TOP + plot_h / 2), (top, TOP)] {
        if value == 0 && y != base {
            continue;
        }
        let _ = write!(
            svg,
            r##"<text x="{x}" y="{ty}" text-anchor="end" font-size="11" fill="#6b7280">{value}</text>"##,
            x = LEFT - 4,
            ty = y + 4,
        );
        if y != base {
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y}" x2="{WIDTH}" y2="{y}" stroke="#e5e7eb" stroke-dasharray="3 3"/>"##
            );
        }
    }
    for (i, bar) in chart.bars.iter().enumerate() {
        let x = f64::from(LEFT) + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut y = f64::from(base);
        for (k, value) in bar.values.iter().enumerate() {
            if *value == 0 {
                continue;
            }
            let h = *value as f64 / top as f64 * f64::from(plot_h);
            y -= h;
            let key = chart.keys.get(k).map(String::as_str).unwrap_or("");
            let _ = write!(
                svg,
                r#"<rect class="bar" data-kind="{key}" data-value="{value}" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{fill}"><title>{title}: {value} {keytext}</title></rect>"#,
                key = escape(key),
                fill = colour(k),
                title = escape(&bar.title),
                keytext = escape(key),
            );
        }
        if chart.label_every > 0 && i % chart.label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{cx:.1}" y="{ty}" text-anchor="middle" font-size="11" fill="#6b7280">{label}</text>"##,
                cx = x + bar_w / 2.0,
                ty = HEIGHT - 6,
                label = escape(&bar.label),
            );
        }
    }
    if max_total == 0 {
        let _ = write!(
            svg,
            r##"<text class="empty" x="{cx}" y="{cy}" text-anchor="middle" font-size="14" fill="#6b7280">No data yet</text>"##,
            cx = LEFT + plot_w / 2,
            cy = TOP + plot_h / 2,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The legend for `keys`: a swatch (an SVG square, no inline style) and the key's name.
pub fn legend(keys: &[String]) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for (i, key) in keys.iter().enumerate() {
        let _ = write!(
            out,
            r#"<li><svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" fill="{fill}"/></svg> {key}</li>"#,
            fill = colour(i),
            key = escape(key),
        );
    }
    out.push_str("</ul>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["init".into(), "login".into()]
    }

    fn bar(label: &str, values: Vec<u64>) -> Bar {
        Bar { label: label.into(), title: format!("{label}:00"), values }
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(500), 500);
        assert_eq!(nice_ceiling(501), 1000);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }

    #[test]
    fn bars_stack_with_values_titles_and_labels() {
        let keys = keys();
        let chart = Chart {
            id: "chart-x",
            label: "Calls per hour",
            keys: &keys,
            bars: vec![bar("00", vec![3, 1]), bar("01", vec![0, 0]), bar("02", vec![0, 6])],
            label_every: 2,
        };
        let svg = stacked_bars(&chart);
        assert!(svg.starts_with(r#"<svg class="chart" id="chart-x" role="img" aria-label="Calls per hour""#), "{svg}");
        assert!(svg.ends_with("</svg>"));
        // Zero segments are not drawn; the rest carry their key and value.
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3, "{svg}");
        assert!(svg.contains(r#"data-kind="init" data-value="3""#));
        assert!(svg.contains(r#"data-kind="login" data-value="1""#));
        assert!(svg.contains(r#"data-kind="login" data-value="6""#));
        assert!(svg.contains("<title>02:00: 6 login</title>"));
        // The axis tops at a nice number over the largest stack (6 → 10), with labels 0, 5, 10.
        assert!(svg.contains(">10</text>") && svg.contains(">5</text>") && svg.contains(">0</text>"));
        // Every second bar is labelled.
        assert!(svg.contains(">00</text>") && svg.contains(">02</text>") && !svg.contains(">01</text>"));
        assert!(!svg.contains("No data yet"));
        assert!(!svg.contains("style="), "no inline style under the CSP");
    }

    #[test]
    fn the_full_stack_reaches_the_top_of_the_plot() {
        let keys = keys();
        let chart = Chart { id: "c", label: "c", keys: &keys, bars: vec![bar("a", vec![5, 5])], label_every: 1 };
        let svg = stacked_bars(&chart);
        // 10 of a top of 10: the upper segment starts at the plot's top.
        assert!(svg.contains(&format!(r#"y="{TOP}.0""#)), "{svg}");
    }

    #[test]
    fn empty_chart_says_so() {
        let keys = keys();
        let chart = Chart { id: "c", label: "c", keys: &keys, bars: vec![bar("a", vec![0, 0])], label_every: 1 };
        let svg = stacked_bars(&chart);
        assert!(svg.contains("No data yet"));
        assert!(!svg.contains(r#"class="bar""#));
        let none = Chart { id: "c", label: "c", keys: &keys, bars: Vec::new(), label_every: 1 };
        assert!(stacked_bars(&none).contains("No data yet"));
    }

    #[test]
    fn text_is_escaped() {
        let keys = vec!["<b>\"x\"".to_owned()];
        let chart = Chart { id: "c", label: "a & b", keys: &keys, bars: vec![bar("<i>", vec![1])], label_every: 1 };
        let svg = stacked_bars(&chart);
        assert!(svg.contains(r#"aria-label="a &amp; b""#));
        assert!(svg.contains(r#"data-kind="&lt;b&gt;&quot;x&quot;""#));
        assert!(!svg.contains("<i>") && !svg.contains("<b>"));
        assert!(legend(&keys).contains("&lt;b&gt;"));
        assert!(legend(&keys).contains(&format!(r#"fill="{}""#, colour(0))));
    }
}
