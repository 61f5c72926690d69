package devenv

// Pid is the provider process's id: the provider sends it in its ECS
// User-Agent, so a test can tell which replica made a call.
func (p *Provider) Pid() int { return p.cmd.Process.Pid }
