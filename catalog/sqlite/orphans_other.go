//go:build !unix

package sqlite

import "os"

// claimNew and removeOrphans do nothing where there is no flock: a crashed
// process's replica directory stays until the OS cleans its temp files.
func claimNew(string) (*os.File, error) { return nil, nil }

func removeOrphans(string, string) {}
