package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the results as one aligned table: per case the subject
// (flotilla), then each reference with flotilla's wall-time ratio to it and
// the target, then the case's derived metrics.
func WriteTable(w io.Writer, results []*CaseResult) error {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tTOOL\tWALL ms\tCPU ms\tPEAK RSS MiB\tFLOTILLA/TOOL\tTARGET")
	for _, r := range results {
		if r.Unavailable != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", r.Name, r.Unavailable)
			continue
		}
		if r.Subject.Tool != "" {
			v := r.Subject
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t\t\n", r.Name, v.Tool, v.WallMS, v.CPUMS, v.MaxRSSMiB)
		}
		for _, v := range r.Refs {
			fmt.Fprintf(tw, "\t%s\t%.1f\t%.1f\t%.1f\t%s\t%s\n", v.Tool, v.WallMS, v.CPUMS, v.MaxRSSMiB,
				ratioCell(v.Ratio), targetCell("<= "+trim(v.Target), v.Target > 0, v.Met))
		}
		name := ""
		if r.Subject.Tool == "" {
			name = r.Name
		}
		for _, m := range r.Metrics {
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t\t\t\t%s\n", name, m.Name, trim(m.Value), m.Unit,
				targetCell(m.Target, m.Target != "", m.Met))
			name = ""
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Empty trailing cells pad with spaces; drop them.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func ratioCell(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r)
}

func targetCell(target string, has bool, met *bool) string {
	if !has {
		return ""
	}
	switch {
	case met == nil:
		return target
	case *met:
		return target + " ok"
	default:
		return target + " MISSED"
	}
}

// trim formats a number with at most two decimals and no trailing zeros.
func trim(x float64) string {
	s := fmt.Sprintf("%.2f", x)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
