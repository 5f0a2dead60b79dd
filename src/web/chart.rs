//! Charts drawn on the server as SVG: no script, they print, and the table beside them
//! stays the source (each chart is an image with a text alternative).

use std::fmt::Write;

use crate::mail::templates::escape_html;

/// One month: its label, this period's value, and the same month a year before.
pub struct MonthBar {
    pub label: String,
    pub value: i64,
    pub previous: Option<i64>,
}

const WIDTH: f64 = 640.0;
/// The group chart is narrower: its labels stay readable on a phone.
const GROUPS_WIDTH: f64 = 420.0;
const BRAND: &str = "#0b5d3b";
const PREVIOUS: &str = "#9aa5b1";
const INK: &str = "#1b1f23";
const GRID: &str = "#d8dee4";

/// A round step for the value axis: 1, 2 or 5 times a power of ten.
fn step_for(max: i64) -> i64 {
    let rough = (max.max(1) as f64 / 4.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(rough);
    step.ceil() as i64
}

/// Encounters per month as vertical bars, each beside the same month a year before.
pub fn months(bars: &[MonthBar], title: &str, this_label: &str, previous_label: &str) -> String {
    // Large type: the chart shrinks to half its size on a phone.
    let height = 300.0;
    let (left, right, top, bottom) = (56.0, 8.0, 34.0, 40.0);
    let max = bars
        .iter()
        .flat_map(|b| [b.value, b.previous.unwrap_or(0)])
        .max()
        .unwrap_or(0);
    let step = step_for(max);
    let ceiling = (max.max(1) + step - 1) / step * step;
    let plot_h = height - top - bottom;
    let plot_w = WIDTH - left - right;
    let y = |v: i64| top + plot_h - (v as f64 / ceiling as f64) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title>"#,
        escape_html(title)
    );
    let mut v = 0;
    while v <= ceiling {
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{GRID}"/><text x="{}" y="{:.1}" text-anchor="end" font-size="16" fill="{INK}">{v}</text>"#,
            WIDTH - right,
            left - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
        v += step;
    }
    let slot = plot_w / bars.len().max(1) as f64;
    // Beyond a year, every other month (or fewer) is named, so names never overlap.
    let every = bars.len().div_ceil(12).max(1);
    let bar_w = (slot * 0.38).min(22.0);
    for (i, bar) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + slot / 2.0;
        if let Some(previous) = bar.previous {
            let _ = write!(
                svg,
                r#"<rect class="previous" x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}" fill="{PREVIOUS}"/>"#,
                x - bar_w,
                y(previous),
                top + plot_h - y(previous)
            );
        }
        let _ = write!(
            svg,
            r#"<rect class="this" x="{x:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}" fill="{BRAND}"/>"#,
            y(bar.value),
            top + plot_h - y(bar.value)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="15" fill="{INK}">{}</text>"#,
                height - bottom + 22.0,
                escape_html(&bar.label)
            );
        }
    }
    // The legend, above the plot.
    let _ = write!(
        svg,
        r#"<rect x="{left}" y="6" width="16" height="16" fill="{BRAND}"/><text x="{}" y="20" font-size="17" fill="{INK}">{}</text><rect x="{}" y="6" width="16" height="16" fill="{PREVIOUS}"/><text x="{}" y="20" font-size="17" fill="{INK}">{}</text></svg>"#,
        left + 22.0,
        escape_html(this_label),
        left + 200.0,
        left + 222.0,
        escape_html(previous_label)
    );
    svg
}

/// One value per group as horizontal bars, largest first as given.
pub fn groups(rows: &[(String, i64)], title: &str) -> String {
    let row_h = 30.0;
    let (label_w, value_w, top) = (150.0, 48.0, 8.0);
    let height = top * 2.0 + row_h * rows.len().max(1) as f64;
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let plot_w = GROUPS_WIDTH - label_w - value_w;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart groups" viewBox="0 0 {GROUPS_WIDTH} {height}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title>"#,
        escape_html(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let shown: String = if label.chars().count() > 18 {
            label.chars().take(17).chain(['…']).collect()
        } else {
            label.clone()
        };
        let w = (*value as f64 / max as f64) * plot_w;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="14" fill="{INK}">{}</text><rect x="{label_w}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{BRAND}"/><text x="{:.1}" y="{:.1}" font-size="14" fill="{INK}">{value}</text>"#,
            label_w - 8.0,
            y + row_h * 0.65,
            escape_html(&shown),
            y + 4.0,
            row_h - 8.0,
            label_w + w + 6.0,
            y + row_h * 0.65
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(step_for(0), 1);
        assert_eq!(step_for(7), 2);
        assert_eq!(step_for(130), 50);
        assert_eq!(step_for(9_999), 5_000);
    }

    #[test]
    fn charts_escape_their_labels_and_draw_one_bar_per_value() {
        let svg = groups(&[("A & B <club>".into(), 10), ("C".into(), 5)], "Title");
        assert!(svg.contains("A &amp; B &lt;club&gt;"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let bars = [
            MonthBar {
                label: "janv.".into(),
                value: 4,
                previous: Some(2),
            },
            MonthBar {
                label: "févr.".into(),
                value: 6,
                previous: None,
            },
        ];
        let svg = months(&bars, "T", "2026", "2025");
        // Three bars and the two legend squares.
        assert_eq!(svg.matches("<rect").count(), 5);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
