package config

import "github.com/genscope/genscope/internal/gateway"

// The gateway's settings, which package gateway owns with their
// validation (gateway.Config.Validate); config assembles them under
// gateway:.
type (
	Gateway    = gateway.Config
	Deployment = gateway.Deployment
	Simulated  = gateway.Simulated
)

// Deployment types.
const (
	DeploymentOpenAI           = gateway.DeploymentOpenAI
	DeploymentAzureOpenAI      = gateway.DeploymentAzureOpenAI
	DeploymentOpenAICompatible = gateway.DeploymentOpenAICompatible
	DeploymentSimulated        = gateway.DeploymentSimulated
)
