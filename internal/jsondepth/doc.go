// Package jsondepth bounds how deeply JSON text nests, in one linear pass
// and no allocation, so that a decoder that recurses (and allocates at
// every level) is never handed a document nested deeper than its caller
// allows.
package jsondepth
