package loadgen

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// Charts are plain SVG written by hand: a report needs a few lines and
// bars, not a plotting library.

// Chart sizes and margins, in SVG user units.
const (
	chartW, chartH = 720, 260
	marginL        = 60
	marginR        = 150 // room for the legend
	marginT        = 24
	marginB        = 36
)

// palette colours the series of a chart in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"}

// Series is one line of a chart: Y by X.
type Series struct {
	Name string
	X, Y []float64
}

// LineChart draws series as lines over a linear x axis; the y axis is
// linear from 0, or logarithmic when logY.
func LineChart(title, xLabel, yLabel string, series []Series, logY bool) string {
	xMax, yMin, yMax := 0.0, math.Inf(1), 0.0
	for _, s := range series {
		for i := range s.X {
			xMax = max(xMax, s.X[i])
			if !logY || s.Y[i] > 0 {
				yMax = max(yMax, s.Y[i])
				yMin = min(yMin, s.Y[i])
			}
		}
	}
	if xMax == 0 {
		xMax = 1
	}
	if yMax == 0 {
		yMax = 1
	}
	var yOf func(float64) float64
	plotH := float64(chartH - marginT - marginB)
	var yTicks []float64
	if logY {
		lo := math.Floor(math.Log10(max(yMin, 1e-9)))
		hi := math.Ceil(math.Log10(yMax))
		if hi <= lo {
			hi = lo + 1
		}
		yOf = func(v float64) float64 {
			return float64(marginT) + plotH*(1-(math.Log10(max(v, math.Pow(10, lo)))-lo)/(hi-lo))
		}
		for e := lo; e <= hi; e++ {
			yTicks = append(yTicks, math.Pow(10, e))
		}
	} else {
		yMax = niceCeil(yMax)
		yOf = func(v float64) float64 { return float64(marginT) + plotH*(1-v/yMax) }
		for i := range 5 {
			yTicks = append(yTicks, yMax*float64(i)/4)
		}
	}
	plotW := float64(chartW - marginL - marginR)
	xOf := func(v float64) float64 { return float64(marginL) + plotW*v/xMax }
	var b strings.Builder
	header(&b, title, xLabel, yLabel)
	for _, t := range yTicks {
		y := yOf(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y, float64(marginL)+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="10">%s</text>`+"\n", marginL-4, y+3, tickLabel(t))
	}
	for i := range 5 {
		x := xMax * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>`+"\n", xOf(x), chartH-marginB+14, tickLabel(x))
	}
	for k, s := range series {
		colour := palette[k%len(palette)]
		var pts []string
		for i := range s.X {
			if logY && s.Y[i] <= 0 {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(s.X[i]), yOf(s.Y[i])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", colour, strings.Join(pts, " "))
		legend(&b, k, s.Name, colour)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// Histogram draws the latencies of each series in logarithmic buckets
// (four a decade, 100 µs to 100 s) as outlined bars, each series' counts
// as a share of its samples.
func Histogram(title string, series map[string][]time.Duration) string {
	const lo, perDecade, decades = -4.0, 4, 6 // 10^-4 s … 10^2 s
	nb := perDecade * decades
	names := make([]string, 0, len(series))
	for name := range series {
		names = append(names, name)
	}
	slices.Sort(names)
	shares := map[string][]float64{}
	top := 0.0
	for _, name := range names {
		counts := make([]float64, nb)
		for _, d := range series[name] {
			i := int(math.Floor((math.Log10(max(d.Seconds(), 1e-4)) - lo) * perDecade))
			counts[max(0, min(i, nb-1))]++
		}
		for i := range counts {
			counts[i] /= float64(max(1, len(series[name])))
			top = max(top, counts[i])
		}
		shares[name] = counts
	}
	top = niceCeil(max(top, 0.01))
	plotW, plotH := float64(chartW-marginL-marginR), float64(chartH-marginT-marginB)
	bw := plotW / float64(nb)
	var b strings.Builder
	header(&b, title, "latency (log scale)", "share of samples")
	for i := range 5 {
		v := top * float64(i) / 4
		y := float64(marginT) + plotH*(1-v/top)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y, float64(marginL)+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="10">%.0f%%</text>`+"\n", marginL-4, y+3, v*100)
	}
	for d := 0; d <= decades; d++ {
		x := float64(marginL) + bw*float64(d*perDecade)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>`+"\n", x, chartH-marginB+14,
			time.Duration(math.Pow(10, lo+float64(d))*float64(time.Second)))
	}
	for k, name := range names {
		colour := palette[k%len(palette)]
		for i, v := range shares[name] {
			if v == 0 {
				continue
			}
			h := plotH * v / top
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.25" stroke="%s"/>`+"\n",
				float64(marginL)+bw*float64(i), float64(marginT)+plotH-h, bw, h, colour, colour)
		}
		legend(&b, k, fmt.Sprintf("%s (n %d)", name, len(series[name])), colour)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func header(b *strings.Builder, title, xLabel, yLabel string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(b, `<text x="%d" y="15" font-size="13" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`+"\n", marginL+(chartW-marginL-marginR)/2, chartH-6, html.EscapeString(xLabel))
	fmt.Fprintf(b, `<text x="12" y="%d" text-anchor="middle" font-size="11" transform="rotate(-90 12 %d)">%s</text>`+"\n", chartH/2, chartH/2, html.EscapeString(yLabel))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", marginL, chartH-marginB, chartW-marginR, chartH-marginB)
}

func legend(b *strings.Builder, k int, name, colour string) {
	y := marginT + 14*k
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`+"\n", chartW-marginR+8, y, colour)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="10">%s</text>`+"\n", chartW-marginR+22, y+9, html.EscapeString(name))
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
