package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// UserConfig says how a lab user is set up. Lab users log in to every lab
// host with the lab key (sshd reads the lab's one authorized_keys file for
// any user), so an inventory host may name one as its user.
type UserConfig struct {
	Tag    string // a few letters that say what the user is for; the name is "flab-XXXXXX-" + Tag
	SubIDs bool   // a 65536-id range in /etc/subuid and /etc/subgid
	Linger bool   // /var/lib/systemd/linger/NAME exists
	Sudo   bool   // a NOPASSWD sudo rule for exactly the linger fix commands
	Docker bool   // member of the docker group: may open the lab engines' sockets
}

// User is a local account the lab created; Stop removes it with its
// /etc/subuid and /etc/subgid lines, sudo rule, linger file and runtime dir.
type User struct {
	Name       string
	UID, GID   int
	Home       string // under the lab directory, mode 0700
	RuntimeDir string // /run/user/UID, made by StartRootlessEngine or MakeRuntimeDir
	SubIDStart int    // first subordinate id, 0 without SubIDs

	cfg UserConfig
}

const (
	userPrefix   = "flab-"
	usersLock    = "/run/flotilla-lab-users.lock" // serialises useradd/usermod/userdel across test binaries
	sudoersDir   = "/etc/sudoers.d"
	lingerDir    = "/var/lib/systemd/linger"
	subIDCount   = 65536
	subIDMinimum = 100000
)

// LingerFile is where logind looks for the user's linger flag.
func (u *User) LingerFile() string { return filepath.Join(lingerDir, u.Name) }

// SudoersFile is the user's sudo rule, when Sudo was asked for.
func (u *User) SudoersFile() string { return filepath.Join(sudoersDir, u.Name) }

// AddUser creates a local user for the lab's tests.
func (l *Lab) AddUser(cfg UserConfig) (*User, error) {
	if cfg.Tag == "" || len(cfg.Tag) > 12 || strings.Trim(cfg.Tag, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return nil, fmt.Errorf("lab: user tag %q: want 1-12 lowercase letters or digits", cfg.Tag)
	}
	for _, bin := range []string{"useradd", "usermod", "userdel"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("lab: %s not found: %w", bin, err)
		}
	}
	u := &User{Name: userPrefix + randomHex(3) + "-" + cfg.Tag, cfg: cfg}
	u.Home = filepath.Join(l.Dir, "home", u.Name)
	if err := os.MkdirAll(filepath.Dir(u.Home), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockUsers()
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeStaleUsers()

	// Register before useradd so a half-made user is removed at Stop.
	l.mu.Lock()
	l.users = append(l.users, u)
	l.mu.Unlock()

	// -p '*': no password, but not locked (sshd without PAM refuses locked
	// accounts); SUB_*_COUNT=0: no automatic subordinate ids.
	args := []string{"-m", "-d", u.Home, "-s", "/bin/sh", "-p", "*", "-U",
		"-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", "-c", "flotilla lab " + l.Dir}
	if cfg.Docker {
		args = append(args, "-G", "docker")
	}
	if err := runShadowTool("useradd", append(args, u.Name)...); err != nil {
		return nil, err
	}
	pw, err := user.Lookup(u.Name)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	u.UID, _ = strconv.Atoi(pw.Uid)
	u.GID, _ = strconv.Atoi(pw.Gid)
	u.RuntimeDir = "/run/user/" + pw.Uid
	if err := os.Chmod(u.Home, 0o700); err != nil {
		return nil, err
	}
	if cfg.SubIDs {
		start, err := freeSubIDStart()
		if err != nil {
			return nil, err
		}
		r := fmt.Sprintf("%d-%d", start, start+subIDCount-1)
		if err := runShadowTool("usermod", "--add-subuids", r, "--add-subgids", r, u.Name); err != nil {
			return nil, err
		}
		u.SubIDStart = start
	}
	if cfg.Linger {
		if err := u.SetLinger(true); err != nil {
			return nil, err
		}
	}
	if cfg.Sudo {
		if err := writeSudoRule(u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// SetLinger creates or removes the user's linger file.
func (u *User) SetLinger(on bool) error {
	if !on {
		if err := os.Remove(u.LingerFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(lingerDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(u.LingerFile(), nil, 0o644)
}

// WriteFile writes a file under the user's home, owned by the user.
func (u *User) WriteFile(rel, content string) error {
	path := filepath.Join(u.Home, rel)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Every directory from the home down belongs to the user, as if made by them.
	for d := dir; strings.HasPrefix(d, u.Home+"/"); d = filepath.Dir(d) {
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			return err
		}
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Chown(path, u.UID, u.GID)
}

// Symlink makes a symlink under the user's home, owned by the user.
func (u *User) Symlink(target, rel string) error {
	path := filepath.Join(u.Home, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	for d := filepath.Dir(path); strings.HasPrefix(d, u.Home+"/"); d = filepath.Dir(d) {
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			return err
		}
	}
	if err := os.Symlink(target, path); err != nil {
		return err
	}
	return os.Lchown(path, u.UID, u.GID)
}

// MakeRuntimeDir creates /run/user/UID as logind would (0700, owned by the user).
func (u *User) MakeRuntimeDir() error {
	if err := os.MkdirAll("/run/user", 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(u.RuntimeDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.Chown(u.RuntimeDir, u.UID, u.GID)
}

// writeSudoRule allows exactly the linger fix commands for the user, without
// a password; visudo checks the rule before it is put in place.
func writeSudoRule(u *User) error {
	f := u.LingerFile()
	rule := fmt.Sprintf("# flotilla lab user, removed by the lab\n%s ALL=(root) NOPASSWD: /usr/bin/loginctl enable-linger %s, /bin/mkdir -p %s, /usr/bin/mkdir -p %s, /bin/touch %s, /usr/bin/touch %s\n",
		u.Name, u.Name, lingerDir, lingerDir, f, f)
	tmp := filepath.Join(sudoersDir, "."+u.Name+".tmp") // sudo skips names with a dot
	if err := os.WriteFile(tmp, []byte(rule), 0o440); err != nil {
		return fmt.Errorf("lab: sudo rule: %w", err)
	}
	if out, err := exec.Command("visudo", "-cf", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("lab: visudo rejects the rule: %v: %s", err, out)
	}
	return os.Rename(tmp, u.SudoersFile())
}

// runShadowTool runs useradd/usermod/userdel, retrying a few times while
// another process holds /etc/passwd's lock.
func runShadowTool(name string, args ...string) error {
	var out []byte
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		out, err = exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("lab: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
}

// lockUsers takes the machine-wide lock for changing lab users.
func lockUsers() (func(), error) {
	f, err := os.OpenFile(usersLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: users lock: %w", err)
	}
	// Bounded wait: 30s of 50ms tries.
	for i := 0; ; i++ {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if i >= 600 {
			f.Close()
			return nil, fmt.Errorf("lab: users lock %s held for 30s", usersLock)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// freeSubIDStart is the first 65536-aligned id after every range in
// /etc/subuid and /etc/subgid.
func freeSubIDStart() (int, error) {
	end := subIDMinimum
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		f, err := os.Open(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			p := strings.Split(sc.Text(), ":")
			if len(p) != 3 {
				continue
			}
			s, err1 := strconv.Atoi(p[1])
			n, err2 := strconv.Atoi(p[2])
			if err1 == nil && err2 == nil {
				end = max(end, s+n)
			}
		}
		f.Close()
	}
	if r := end % subIDCount; r != 0 {
		end += subIDCount - r
	}
	return end, nil
}

// removeUsers stops the rootless engines, then removes every user the lab
// made, with everything that names them outside the lab directory.
func (l *Lab) removeUsers() error {
	l.mu.Lock()
	users, engines := l.users, l.rootless
	l.users, l.rootless = nil, nil
	l.mu.Unlock()
	var errs []error
	for _, e := range engines {
		if err := e.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(users) == 0 {
		return errors.Join(errs...)
	}
	unlock, err := lockUsers()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer unlock()
	for _, u := range users {
		if err := removeUser(u.Name); err != nil {
			errs = append(errs, err)
		}
	}
	// The linger directory goes too when the lab made it and nothing else is in it.
	_ = os.Remove(lingerDir)
	return errors.Join(errs...)
}

// removeUser kills the user's processes (all started by the lab: the user
// is the lab's), deletes the account (userdel also drops its /etc/subuid
// and /etc/subgid lines) and removes its sudo rule, linger file and
// runtime dir. A user that does not exist is not an error.
func removeUser(name string) error {
	if !strings.HasPrefix(name, userPrefix) {
		return fmt.Errorf("lab: refusing to remove %q: not a lab user", name)
	}
	var errs []error
	pw, err := user.Lookup(name)
	if err == nil {
		uid, _ := strconv.Atoi(pw.Uid)
		killPIDs(userPIDs(uid))
		if err := runShadowTool("userdel", "-f", name); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll("/run/user/" + pw.Uid); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []string{filepath.Join(sudoersDir, name), filepath.Join(lingerDir, name)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// userPIDs lists the processes whose real uid is uid.
func userPIDs(uid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fi, err := os.Stat("/proc/" + e.Name())
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			out = append(out, pid)
		}
	}
	return out
}

// removeStaleUsers removes lab users whose lab directory is gone (a test
// binary killed before Stop). Called with the users lock held.
func removeStaleUsers() {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return
	}
	defer f.Close()
	var stale []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 7 || !strings.HasPrefix(p[0], userPrefix) || !strings.HasPrefix(p[4], "flotilla lab ") {
			continue
		}
		labDir := strings.TrimPrefix(p[4], "flotilla lab ")
		if _, err := os.Stat(labDir); errors.Is(err, os.ErrNotExist) {
			stale = append(stale, p[0])
		}
	}
	for _, name := range stale {
		_ = removeUser(name)
	}
}
