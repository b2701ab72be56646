//! SVG line charts (plotters' SVG backend, no system fonts): lines with
//! optional confidence bands, dashed reference levels, a legend, and axis
//! labels that carry their units.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// A figure could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw figure {path}: {reason}")]
pub struct PlotError {
    /// The SVG file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// One line of a chart.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points `(x, y)`, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Optional band `(x, low, high)` drawn shaded under the line.
    pub band: Vec<(f64, f64, f64)>,
    /// Draw dashed (reference levels) instead of solid.
    pub dashed: bool,
    /// Draw the points as markers, without a line.
    pub markers: bool,
    /// A fixed colour `(r, g, b)` instead of the palette's next one (the
    /// palette still advances, so other series keep their colours).
    pub colour: Option<(u8, u8, u8)>,
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// x-axis label with its unit.
    pub x_label: String,
    /// y-axis label with its unit.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// The lines.
    pub series: Vec<Series>,
    /// Keep the legend's room above the data (upper right) instead of
    /// below it (lower right); for curves that rise from zero.
    pub legend_above: bool,
}

/// Colour-blind-safe colours (Okabe–Ito) and four darker ones, cycled.
const PALETTE: [RGBColor; 12] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
    RGBColor(136, 34, 85),
    RGBColor(68, 119, 170),
    RGBColor(102, 102, 51),
    RGBColor(119, 119, 119),
];

impl LineChart {
    fn x_range(&self) -> (f64, f64) {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let xs: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
        padded_range(&xs)
    }

    fn y_range(&self) -> (f64, f64) {
        let mut ys: Vec<f64> = Vec::new();
        for series in &self.series {
            ys.extend(series.points.iter().map(|p| p.1));
            ys.extend(series.band.iter().flat_map(|b| [b.1, b.2]));
        }
        ys.retain(|y| y.is_finite());
        padded_range(&ys)
    }

    /// Draws the chart into an SVG file at `path`. A logarithmic x axis is
    /// drawn as `log10 x` on a linear scale with ticks labelled in `x`.
    ///
    /// # Errors
    ///
    /// [`PlotError`] naming the file.
    pub fn draw(&self, path: &Path) -> Result<(), PlotError> {
        draw_grid(std::slice::from_ref(self), 1, path)
    }

    /// The chart as drawn: with a logarithmic x axis, `x` becomes `log10 x`.
    fn shown(&self) -> LineChart {
        if self.x_log {
            self.log_x()
        } else {
            self.clone()
        }
    }

    /// The chart with every x replaced by `log10 x` (non-positive x dropped).
    fn log_x(&self) -> LineChart {
        let mut chart = self.clone();
        for series in &mut chart.series {
            series.points.retain(|p| p.0 > 0.0);
            series.band.retain(|b| b.0 > 0.0);
            series.points.iter_mut().for_each(|p| p.0 = p.0.log10());
            series.band.iter_mut().for_each(|b| b.0 = b.0.log10());
        }
        chart
    }

    fn render(&self, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let (x_low, x_high) = self.x_range();
        let (mut y_low, mut y_high) = self.y_range();
        // Room below (or above) the data for the legend (about 22 px per
        // entry of a 440 px plot), so that no line runs under its text.
        let legend_share = (self.series.len() as f64 * 22.0 + 16.0) / 440.0;
        let legend_room = (y_high - y_low) * legend_share / (1.0 - legend_share);
        if self.legend_above {
            y_high += legend_room;
        } else {
            y_low -= legend_room;
        }
        let x_span = x_high - x_low;
        let y_span = y_high - y_low;
        let x_log = self.x_log;
        let x_format = move |x: &f64| {
            if x_log {
                tick_label(10f64.powf(*x), 10f64.powf(*x) * 0.5)
            } else {
                tick_label(*x, x_span)
            }
        };
        let y_format = move |y: &f64| tick_label(*y, y_span);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x_low..x_high, y_low..y_high)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| e.to_string())?;
        for (index, series) in self.series.iter().enumerate() {
            let colour = series
                .colour
                .map_or(PALETTE[index % PALETTE.len()], |(r, g, b)| {
                    RGBColor(r, g, b)
                });
            if !series.band.is_empty() {
                let mut outline: Vec<(f64, f64)> =
                    series.band.iter().map(|&(x, _, high)| (x, high)).collect();
                outline.extend(series.band.iter().rev().map(|&(x, low, _)| (x, low)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        colour.mix(0.18).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            let style = colour.stroke_width(2);
            if series.markers {
                let points = series
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 6, colour.filled()));
                chart
                    .draw_series(points)
                    .map_err(|e| e.to_string())?
                    .label(series.label.clone())
                    .legend(move |(x, y)| Circle::new((x + 12, y), 5, colour.filled()));
                continue;
            }
            let drawn = if series.dashed {
                chart.draw_series(DashedLineSeries::new(series.points.clone(), 8, 5, style))
            } else {
                chart.draw_series(LineSeries::new(series.points.clone(), style))
            };
            let dashed = series.dashed;
            drawn
                .map_err(|e| e.to_string())?
                .label(series.label.clone())
                .legend(move |(x, y)| {
                    // A dashed series gets a dashed key: two short strokes.
                    let (first_end, gap) = if dashed { (x + 9, 6) } else { (x + 24, 0) };
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (first_end - x, 0)], style)
                        + PathElement::new(vec![(first_end - x + gap, 0), (24, 0)], style)
                });
        }
        chart
            .configure_series_labels()
            .position(if self.legend_above {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| e.to_string())
    }
}

/// Draws `charts` into one SVG file at `path`, `columns` panels to a row
/// (900 × 560 pixels each), in reading order.
///
/// # Errors
///
/// [`PlotError`] naming the file.
pub fn draw_grid(charts: &[LineChart], columns: usize, path: &Path) -> Result<(), PlotError> {
    let columns = columns.clamp(1, charts.len().max(1));
    let rows = charts.len().div_ceil(columns).max(1);
    let size = (900 * columns as u32, 560 * rows as u32);
    let drawn = (|| -> Result<(), String> {
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        for (chart, area) in charts.iter().zip(root.split_evenly((rows, columns))) {
            chart.shown().render(&area)?;
        }
        root.present().map_err(|e| e.to_string())
    })();
    drawn.map_err(|reason| PlotError {
        path: path.display().to_string(),
        reason,
    })
}

/// A tick label with as many decimals as a range of width `span` needs
/// (two significant digits of the span), without a negative zero.
fn tick_label(value: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (1.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// The range of `values` widened by 5 % on each side, with a unit range
/// around a single value.
fn padded_range(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(low.is_finite() && high.is_finite()) {
        return (0.0, 1.0);
    }
    let span = if high > low {
        high - low
    } else {
        low.abs().max(1.0)
    };
    (low - 0.05 * span, high + 0.05 * span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_fit_the_span() {
        assert_eq!(tick_label(5.0, 30.0), "5");
        assert_eq!(tick_label(-1.2, 0.8), "-1.20");
        assert_eq!(tick_label(-0.0001, 0.3), "0.00");
        assert_eq!(tick_label(0.05, 0.3), "0.05");
    }
}
