package tasks

import "testing"

func TestDigestFor(t *testing.T) {
	digests := []string{"127.0.0.1:5000/lab/app@sha256:aaa", "lab/other@sha256:bbb"}
	cases := map[string]string{
		"127.0.0.1:5000/lab/app:2": "127.0.0.1:5000/lab/app@sha256:aaa",
		"lab/other:latest":         "lab/other@sha256:bbb",
		"lab/none:1":               "",
		"127.0.0.1:5000/lab/app":   "127.0.0.1:5000/lab/app@sha256:aaa", // no tag: the port is not one
	}
	for tag, want := range cases {
		if got := digestFor(tag, digests); got != want {
			t.Errorf("digestFor(%q) = %q, want %q", tag, got, want)
		}
	}
}
