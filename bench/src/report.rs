//! The results file, the Markdown report and the charts.

use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use crate::bindings::BindingResult;
use crate::scenarios::{Capacity, Contention, Failover, Handover, Throughput};
use crate::stats::Percentiles;

/// Everything one system measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SystemResults {
    /// System name.
    pub system: String,
    /// Scenario 1.
    pub uncontended: Option<Percentiles>,
    /// Scenario 2 (64 and 256 clients).
    pub throughput: Vec<Throughput>,
    /// Scenario 3.
    pub contention: Option<Contention>,
    /// Scenario 4.
    pub crash_handover: Option<Handover>,
    /// Scenario 5.
    pub failover: Option<Failover>,
    /// Scenario 6.
    pub capacity: Vec<Capacity>,
    /// Scenario 7: each client's uncontended latency and added time.
    pub bindings: Vec<BindingResult>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// When (Unix seconds).
    pub at_unix: u64,
    /// Smoke mode (figures not meaningful).
    pub smoke: bool,
    /// Build profile of the tenure binary.
    pub profile: String,
    /// Machine description.
    pub machine: String,
    /// Per system.
    pub systems: Vec<SystemResults>,
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

fn get<'a>(r: &'a Results, name: &str) -> Option<&'a SystemResults> {
    r.systems.iter().find(|s| s.system == name)
}

/// The Markdown report.
pub fn markdown(r: &Results) -> String {
    let t = get(r, "tenure");
    let e = get(r, "etcd");
    let mut out = format!(
        "# Benchmarks: tenure and etcd\n\nMeasured in one run on {} ({} build of tenure; etcd 3.4 from Debian, 3 nodes each on loopback, fsync on, default timings). Medians unless stated; ratio = tenure / etcd.{}\n\n",
        r.machine,
        r.profile,
        if r.smoke {
            " **Smoke mode: a few seconds per scenario; figures are not meaningful.**"
        } else {
            ""
        }
    );
    out.push_str("## 1. Uncontended acquire+release (one client, one lock)\n\n| system | p50 µs | p90 µs | p99 µs | max µs |\n|---|---|---|---|---|\n");
    for s in &r.systems {
        if let Some(p) = &s.uncontended {
            out.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} |\n",
                s.system, p.p50_us, p.p90_us, p.p99_us, p.max_us
            ));
        }
    }
    if let (Some(a), Some(b)) = (t.and_then(|s| s.uncontended), e.and_then(|s| s.uncontended)) {
        out.push_str(&format!(
            "\np50 ratio tenure/etcd: **{}** (target ≤ 0.35x and < 1 ms)\n",
            ratio(a.p50_us, b.p50_us)
        ));
    }
    out.push_str("\n![latency](uncontended.png)\n\n## 2. Throughput (a lock per client)\n\n| system | clients | pairs/s | p50 µs | p99 µs | errors |\n|---|---|---|---|---|---|\n");
    for s in &r.systems {
        for tp in &s.throughput {
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {} |\n",
                s.system,
                tp.clients,
                tp.pairs_per_s,
                tp.latency.p50_us,
                tp.latency.p99_us,
                tp.errors
            ));
        }
    }
    if let (Some(a), Some(b)) = (t, e) {
        for (x, y) in a.throughput.iter().zip(&b.throughput) {
            out.push_str(&format!(
                "\n{} clients: tenure/etcd throughput **{}** (target ≥ 4x)",
                x.clients,
                ratio(x.pairs_per_s, y.pairs_per_s)
            ));
        }
        out.push('\n');
    }
    out.push_str("\n![throughput](throughput.png)\n\n## 3. Contention (16 clients, one lock)\n\n| system | handovers/s | wait p50 ms | wait p99 ms | tokens strictly increase |\n|---|---|---|---|---|\n");
    for s in &r.systems {
        if let Some(c) = &s.contention {
            out.push_str(&format!(
                "| {} | {:.0} | {:.1} | {:.1} | {} |\n",
                s.system,
                c.handovers_per_s,
                c.wait.p50_us / 1e3,
                c.wait.p99_us / 1e3,
                c.tokens_increase
            ));
        }
    }
    out.push_str("\nTarget: ≥ 1,500 handovers/s, tokens strictly increasing.\n");
    out.push_str("\n## 4. Crash handover (holder killed -9 while another waits)\n\n| system | TTL ms | kill → grant ms | with force-release ms |\n|---|---|---|---|\n");
    for s in &r.systems {
        if let Some(h) = &s.crash_handover {
            out.push_str(&format!(
                "| {} | {} | {:.0} | {} |\n",
                s.system,
                h.ttl_ms,
                h.after_ttl_ms,
                h.force_release_ms
                    .map_or("n/a".into(), |v| format!("{v:.0}"))
            ));
        }
    }
    out.push_str("\n## 5. Leader failover (8 clients looping; leader killed -9)\n\n| system | longest gap ms | errors | sessions expired |\n|---|---|---|---|\n");
    for s in &r.systems {
        if let Some(f) = &s.failover {
            out.push_str(&format!(
                "| {} | {:.0} | {} | {} |\n",
                s.system, f.longest_gap_ms, f.errors, f.sessions_expired
            ));
        }
    }
    if let (Some(a), Some(b)) = (
        t.and_then(|s| s.failover.clone()),
        e.and_then(|s| s.failover.clone()),
    ) {
        out.push_str(&format!(
            "\ngap ratio tenure/etcd: **{}** (target ≤ 400 ms in every run, 0 sessions expired)\n",
            ratio(a.longest_gap_ms, b.longest_gap_ms)
        ));
    }
    out.push_str("\n## 6. Session capacity (keepalives every TTL/3, TTL 10 s)\n\n| system | sessions | server CPU (cores, all nodes) | leader RSS MiB | keepalive msg p50 ms | p99 ms | spurious expiries |\n|---|---|---|---|---|---|---|\n");
    for s in &r.systems {
        for c in &s.capacity {
            out.push_str(&format!(
                "| {} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {} |\n",
                s.system,
                c.sessions,
                c.server_cores,
                c.leader_rss_mib,
                c.keepalive.p50_us / 1e3,
                c.keepalive.p99_us / 1e3,
                c.spurious_expiries
            ));
        }
    }
    if let Some(t) = t
        && !t.bindings.is_empty()
    {
        out.push_str(
            "\n## 7. Binding overhead (scenario 1 from each language, same cluster)\n\n\
             Rounds of Rust native, then each binding followed by Rust native again; \
             a binding's added time in a round is its median minus the mean of the \
             native medians just before and after it.\n\n\
             | client | p50 µs | p90 µs | p99 µs | p50 ratio to Rust native | added µs per pair (median of rounds) | each round |\n|---|---|---|---|---|---|---|\n",
        );
        let native = t.bindings.first().map_or(0.0, |b| b.latency.p50_us);
        for b in &t.bindings {
            let p = &b.latency;
            let rounds: Vec<String> = b.added_us.iter().map(|a| format!("{a:.0}")).collect();
            out.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.0} | {} | {:.0} | {} |\n",
                b.client,
                p.p50_us,
                p.p90_us,
                p.p99_us,
                ratio(p.p50_us, native),
                b.added_median_us(),
                rounds.join(", ")
            ));
        }
        out.push_str("\nTarget: each binding adds at most 150 µs per pair to Rust native's p50.\n");
    }
    out.push_str(
        "\nWhere targets are missed, and what profiling found and fixed (with before/after \
         figures): [profiling.md](profiling.md).\n",
    );
    out
}

/// Registers a font for chart text (DejaVu Sans from the system).
fn register_font() -> bool {
    let candidates = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];
    for path in candidates {
        if let Ok(bytes) = std::fs::read(path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok();
        }
    }
    false
}

/// Draws a grouped bar chart: one group per label, one bar per system.
fn bars(
    path: &Path,
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
) -> anyhow::Result<()> {
    let root = BitMapBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let groups = labels.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..groups as f64, 0f64..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups)
        .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
        .y_desc(unit)
        .draw()?;
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
    ];
    let width = 0.8 / series.len().max(1) as f64;
    for (k, (name, values)) in series.iter().enumerate() {
        let color = colors[k % colors.len()];
        chart
            .draw_series(values.iter().enumerate().map(|(g, v)| {
                let x0 = g as f64 + 0.1 + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.95, *v)], color.filled())
            }))?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Writes the charts next to the report.
pub fn charts(r: &Results, dir: &Path) -> anyhow::Result<()> {
    if !register_font() {
        anyhow::bail!("no DejaVu font found (apt-get install fonts-dejavu-core)");
    }
    let labels: Vec<String> = ["p50", "p90", "p99"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let series: Vec<(String, Vec<f64>)> = r
        .systems
        .iter()
        .filter_map(|s| {
            s.uncontended
                .map(|p| (s.system.clone(), vec![p.p50_us, p.p90_us, p.p99_us]))
        })
        .collect();
    bars(
        &dir.join("uncontended.png"),
        "Uncontended acquire+release latency",
        "microseconds",
        &labels,
        &series,
    )?;
    let clients: Vec<String> = r
        .systems
        .first()
        .map(|s| {
            s.throughput
                .iter()
                .map(|t| format!("{} clients", t.clients))
                .collect()
        })
        .unwrap_or_default();
    let series: Vec<(String, Vec<f64>)> = r
        .systems
        .iter()
        .map(|s| {
            (
                s.system.clone(),
                s.throughput.iter().map(|t| t.pairs_per_s).collect(),
            )
        })
        .collect();
    bars(
        &dir.join("throughput.png"),
        "Throughput (acquire+release pairs per second)",
        "pairs/s",
        &clients,
        &series,
    )?;
    Ok(())
}
