package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"flotilla/backup"
	"flotilla/hosts"
)

// execer is what running a command in a container needs of the Engine API.
type execer interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ExecCreate(ctx context.Context, containerID string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
}

// composeServiceLabel is how Docker Compose marks a container's service.
const composeServiceLabel = "com.docker.compose.service"

// maxStderr is how much of a command's stderr is kept for the error.
const maxStderr = 8 << 10

// findContainer finds the running container called service, or else the
// first (by name) running container of that compose service.
func findContainer(ctx context.Context, eng execer, service string) (id, name string, err error) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return "", "", fmt.Errorf("listing containers: %w", err)
	}
	var byLabel []string
	ids := map[string]string{}
	for _, c := range list.Items {
		n := containerName(c.Names, c.ID)
		for _, cn := range c.Names {
			if strings.TrimPrefix(cn, "/") == service {
				return c.ID, n, nil
			}
		}
		if c.Labels[composeServiceLabel] == service {
			byLabel = append(byLabel, n)
			ids[n] = c.ID
		}
	}
	if len(byLabel) == 0 {
		return "", "", fmt.Errorf("no running container named %q or of compose service %q", service, service)
	}
	sort.Strings(byLabel)
	return ids[byLabel[0]], byLabel[0], nil
}

// execStream runs argv in a container: stdin (when not nil) is copied to
// its standard input, which is then closed; its standard output goes to
// stdout. It returns the exit code and the stderr it kept.
func execStream(ctx context.Context, eng execer, containerID string, argv []string, stdin io.Reader, stdout io.Writer) (int, *limitedBuffer, error) {
	ex, err := eng.ExecCreate(ctx, containerID, client.ExecCreateOptions{
		AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true, Cmd: argv,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("creating the exec: %w", err)
	}
	att, err := eng.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, nil, fmt.Errorf("starting the exec: %w", err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close) // a cancelled run must not wait on a stream
	defer stop()

	stdinDone := make(chan error, 1)
	if stdin != nil {
		go func() {
			_, err := io.CopyBuffer(att.Conn, stdin, make([]byte, copyBuffer))
			if cerr := att.CloseWrite(); err == nil {
				err = cerr
			}
			stdinDone <- err
		}()
	} else {
		stdinDone <- nil
	}
	stderr := &limitedBuffer{max: maxStderr}
	_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	if err != nil {
		att.Close() // unblocks the stdin copy
	}
	inErr := <-stdinDone
	if ctx.Err() != nil {
		return 0, stderr, ctx.Err()
	}
	if err != nil {
		return 0, stderr, err
	}
	code, err := execExitCode(ctx, eng, ex.ID)
	if err != nil {
		return 0, stderr, err
	}
	if inErr != nil && code == 0 {
		return 0, stderr, fmt.Errorf("writing to the command's stdin: %w", inErr)
	}
	return code, stderr, nil
}

// execExitCode waits (briefly: the stream has ended) for the exec to be
// reported finished and returns its exit code.
func execExitCode(ctx context.Context, eng execer, id string) (int, error) {
	for i := 0; i < 50; i++ {
		ins, err := eng.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("inspecting the exec: %w", err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return 0, errors.New("the command's output ended but it is still running")
}

// backupDump runs the dump command in its container and stores its stdout.
// The secret goes to the command's stdin and nowhere else.
func backupDump(ctx context.Context, eng backupEngine, set *backup.SetWriter, d hosts.DumpBackup, secret []byte) (BackupItem, error) {
	fail := func(err error) (BackupItem, error) { return BackupItem{}, fmt.Errorf("dump %q: %w", d.Name, err) }
	id, name, err := findContainer(ctx, eng, d.Service)
	if err != nil {
		return fail(err)
	}
	iw, err := set.Create(backup.KindDump, d.Name, backup.Source{Container: name, Command: d.Command})
	if err != nil {
		return fail(err)
	}
	var stdin io.Reader
	if secret != nil {
		in := secret
		if len(in) == 0 || in[len(in)-1] != '\n' {
			in = append(append([]byte{}, in...), '\n') // the line a password prompt reads
		}
		stdin = strings.NewReader(string(in))
	}
	code, stderr, err := execStream(ctx, eng, id, d.Command, stdin, iw)
	switch {
	case err != nil:
		iw.Abort(err)
		return fail(fmt.Errorf("in container %s: %w", name, err))
	case code != 0:
		iw.Abort(nil)
		return fail(fmt.Errorf("%s exited with status %d in container %s: %s", d.Command[0], code, name, stderrOrNone(stderr, secret)))
	case stderr.Len() > 0:
		iw.Abort(nil)
		return fail(fmt.Errorf("%s wrote to stderr in container %s (a dump must be silent there: pass its quiet flag): %s", d.Command[0], name, stderrOrNone(stderr, secret)))
	}
	stored, err := iw.Close()
	if err != nil {
		return fail(err)
	}
	return itemResult(stored), nil
}

func stderrOrNone(b *limitedBuffer, secret []byte) string {
	if b == nil || b.Len() == 0 {
		return "(no stderr)"
	}
	return b.String(secret)
}
