// Package timeutil holds genscope's one duration type: the way every
// duration is written in the config file, in the API's JSON and in the
// stored documents ("30s", "5m", "720h", or a number of days, "30d").
package timeutil
