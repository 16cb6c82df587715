package registry

import "context"

// Lookup answers look-ups by reference string, for tasks that hold image
// names as the engine lists them. Answers are shared through the Client.
type Lookup struct{ C *Client }

// Digest is the digest the registry serves for ref now.
func (l Lookup) Digest(ctx context.Context, ref string) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	d, err := l.C.Head(ctx, r)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// Labels are the labels of the registry's current image for ref on platform.
func (l Lookup) Labels(ctx context.Context, ref, platform string) (map[string]string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return l.C.ConfigLabels(ctx, r, platform)
}
