package connect

import "github.com/moby/moby/client"

var clientPing = client.PingOptions{}
