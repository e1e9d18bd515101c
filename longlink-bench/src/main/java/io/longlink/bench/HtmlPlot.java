package io.longlink.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A self-contained HTML page of line charts (inline SVG, no scripts, no downloads), so a bench
 * result can be opened anywhere and attached to an issue as one file.
 */
final class HtmlPlot {
  private static final int WIDTH = 720;
  private static final int HEIGHT = 260;
  private static final int PAD = 50;

  /** One line: its name and points. */
  record Series(String name, double[] x, double[] y) {}

  /** One chart: a title, axis labels and its lines. */
  record Chart(String title, String xLabel, String yLabel, List<Series> series) {}

  private final String title;
  private final List<Chart> charts = new ArrayList<>();

  HtmlPlot(String title) {
    this.title = title;
  }

  HtmlPlot add(Chart chart) {
    charts.add(chart);
    return this;
  }

  String render() {
    StringBuilder b = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>")
        .append(escape(title)).append("</title><style>body{font-family:sans-serif}text{font-size:11px}</style>")
        .append("</head><body><h2>").append(escape(title)).append("</h2>\n");
    for (Chart c : charts) {
      b.append(svg(c)).append('\n');
    }
    return b.append("</body></html>\n").toString();
  }

  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

  private static String svg(Chart c) {
    double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, maxY = 0;
    for (Series s : c.series()) {
      for (int i = 0; i < s.x().length; i++) {
        minX = Math.min(minX, s.x()[i]);
        maxX = Math.max(maxX, s.x()[i]);
        maxY = Math.max(maxY, s.y()[i]);
      }
    }
    if (minX > maxX) {
      minX = 0;
      maxX = 1;
    }
    if (maxX == minX) {
      maxX = minX + 1;
    }
    maxY = maxY <= 0 ? 1 : maxY * 1.05;
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
        "<h3>%s</h3><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", escape(c.title()),
        WIDTH, HEIGHT + 40));
    int w = WIDTH - 2 * PAD;
    int h = HEIGHT - PAD;
    b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"10\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>",
        PAD, w, h));
    for (int t = 0; t <= 4; t++) {
      double yv = maxY * t / 4;
      int y = 10 + h - (int) (h * t / 4.0);
      double xv = minX + (maxX - minX) * t / 4;
      int x = PAD + (int) (w * t / 4.0);
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", PAD - 4, y + 4, num(yv)));
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, 10 + h + 14, num(xv)));
    }
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", PAD + w / 2,
        10 + h + 30, escape(c.xLabel())));
    b.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">%s</text>",
        10 + h / 2, 10 + h / 2, escape(c.yLabel())));
    int k = 0;
    for (Series s : c.series()) {
      String color = COLORS[k % COLORS.length];
      StringBuilder pts = new StringBuilder();
      for (int i = 0; i < s.x().length; i++) {
        double px = PAD + w * (s.x()[i] - minX) / (maxX - minX);
        double py = 10 + h - h * s.y()[i] / maxY;
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
      }
      b.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"")
          .append(pts).append("\"/>");
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>", PAD + 8, 26 + 14 * k, color,
          escape(s.name())));
      k++;
    }
    return b.append("</svg>").toString();
  }

  private static String num(double v) {
    if (Math.abs(v) >= 1_000_000) {
      return String.format(Locale.ROOT, "%.1fM", v / 1e6);
    }
    if (Math.abs(v) >= 10_000) {
      return String.format(Locale.ROOT, "%.0fk", v / 1e3);
    }
    return String.format(Locale.ROOT, v == Math.rint(v) ? "%.0f" : "%.2f", v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
