// Package app wires genscope together and owns its lifecycle: it opens
// the store, starts the recorder, the receivers and the HTTP and gRPC
// servers, and on shutdown stops taking data, drains what was
// acknowledged into the store and closes it. Tests run the whole server
// in-process through it.
package app
