// Command ecs-shares brings image shares that already exist under
// provider-alibabacloud-ecs: `ecs-shares import ecs` reads them from ECS,
// `ecs-shares import terraform` from a Terraform state, and both write the
// managed resources that take them over, changing nothing in ECS.
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/importer"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/importer/terraform"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/version"
)

func main() {
	app := kingpin.New(filepath.Base(os.Args[0]), "Bring the Alibaba Cloud ECS image shares that exist under provider-alibabacloud-ecs, without changing them.").Version(version.Version)
	imp := app.Command("import", "Write the managed resources that take existing shares over: with managementPolicies [Observe] unless --full-control, so that applying them changes nothing in ECS.")
	out := outputFlags(imp)

	fromECS := imp.Command("ecs", "Read every share of the account's own images from ECS (DescribeImages, then DescribeImageSharePermission for each shared image, paced like the provider).")
	src := ecsFlags(fromECS)

	fromTF := imp.Command("terraform", "Read the alicloud_image_share_permission instances of a Terraform state, and say how to make Terraform forget them without destroying them.")
	statePath := fromTF.Arg("state", "The state: the state file's JSON (format version 4; terraform state pull > state.json), or the output of terraform show -json; - reads standard input.").Required().String()
	region := fromTF.Flag("region", "The region of the shares of the default alicloud provider configuration: a state does not record it.").String()
	aliasRegions := fromTF.Flag("region-for-alias", "The region of the shares of an aliased alicloud provider configuration, as alias=region (repeatable); required for each alias the state names. Only a state file, not show -json, records aliases.").StringMap()

	commands := map[string]func(context.Context) error{
		fromECS.FullCommand(): func(ctx context.Context) error { return importECS(ctx, out, src) },
		fromTF.FullCommand():  func(context.Context) error { return importTerraform(out, *statePath, *region, *aliasRegions) },
	}
	if err := run(commands[kingpin.MustParse(app.Parse(os.Args[1:]))]); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-shares:", err)
		os.Exit(1)
	}
}

// run runs a command until it ends or is interrupted.
func run(command func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return command(ctx)
}

// output is where and what the import writes.
type output struct {
	importer.Options
	scope string
	dir   string
}

func outputFlags(c *kingpin.CmdClause) *output {
	o := &output{}
	c.Flag("kind", "What to write: ImageSharePermission (one per share) or ImageSharing (one per image, listing its accounts).").Default(importer.KindImageSharePermission).EnumVar(&o.Kind, importer.KindImageSharePermission, importer.KindImageSharing)
	c.Flag("scope", "Write namespaced objects (in --namespace) or cluster-scoped ones.").Default("namespaced").EnumVar(&o.scope, "namespaced", "cluster")
	c.Flag("namespace", "The namespace of namespaced objects.").Short('n').Default("default").StringVar(&o.Namespace)
	c.Flag("config-kind", "The kind of the configuration the objects name (their providerConfigRef): ClusterProviderConfig or ProviderConfig (in --namespace). Cluster-scoped objects name a cluster-scoped ProviderConfig.").Default("ClusterProviderConfig").EnumVar(&o.ConfigKind, "ClusterProviderConfig", "ProviderConfig")
	c.Flag("config-name", "The name of the configuration the objects name; with --kubeconfig, import ecs also reads ECS with it.").Default("default").StringVar(&o.ConfigName)
	c.Flag("full-control", "Leave the objects' management policies at [\"*\"]: the provider then corrects drift, and deleting an object unshares. Off, they only observe.").BoolVar(&o.FullControl)
	c.Flag("output-dir", "Write each object to its own file in this directory (and, for terraform, the commands that make Terraform forget them); otherwise objects go to standard output as one YAML stream.").Short('o').StringVar(&o.dir)
	return o
}

// options are the importer's options the flags set.
func (o *output) options() importer.Options {
	opts := o.Options
	opts.Cluster = o.scope == "cluster"
	return opts
}

// write writes the objects of shares, and says what it wrote.
func (o *output) write(shares []importer.Share) error {
	objs, err := importer.Objects(shares, o.options())
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		fmt.Fprintln(os.Stderr, "ecs-shares: no shares found: nothing written")
		return nil
	}
	if o.dir != "" {
		err = importer.WriteDir(o.dir, objs)
	} else {
		err = importer.WriteYAML(os.Stdout, objs)
	}
	if err != nil {
		return err
	}
	policies := `managementPolicies ["Observe"]: applying them changes nothing in ECS; add --full-control to let the provider correct drift`
	if o.FullControl {
		policies = `managementPolicies ["*"]: the provider corrects drift, and deleting an object unshares`
	}
	where := "to standard output"
	if o.dir != "" {
		where = "to " + o.dir
	}
	fmt.Fprintf(os.Stderr, "ecs-shares: %d shares as %d %s objects %s, %s\n", len(shares), len(objs), o.Kind, where, policies)
	return nil
}

func importECS(ctx context.Context, out *output, src *ecsSource) error {
	var shares []importer.Share
	for _, region := range src.regions {
		client, err := src.client(ctx, out, region)
		if err != nil {
			return err
		}
		got, err := importer.FromECS(ctx, client, region, ecs.ImageFilter{IDs: src.images, Family: src.family})
		client.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", region, err)
		}
		shares = append(shares, got...)
	}
	return out.write(shares)
}

func importTerraform(out *output, path, region string, aliasRegions map[string]string) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path) //nolint:gosec // The user names the state to read.
		if err != nil {
			return err
		}
		defer f.Close() //nolint:errcheck // Only read.
		r = f
	}
	instances, refused, err := terraform.Read(r)
	if err != nil {
		return err
	}
	var shares []importer.Share
	for _, in := range instances {
		// An aliased provider configuration is usually another region or
		// account: its shares take only the region said for it.
		reg := region
		if in.ProviderAlias != "" {
			reg = aliasRegions[in.ProviderAlias]
		}
		s := importer.Share{Region: reg, ImageID: in.ImageID, AccountID: in.AccountID}
		switch err := s.Validate(); {
		case reg == "" && in.ProviderAlias != "":
			refused = append(refused, terraform.Refusal{Address: in.Address, Reason: fmt.Sprintf("managed through the provider alias %q, whose region the state does not record: add --region-for-alias %s=<region>", in.ProviderAlias, in.ProviderAlias)})
		case reg == "":
			refused = append(refused, terraform.Refusal{Address: in.Address, Reason: "no region: a state does not record it; add --region"})
		case err != nil:
			refused = append(refused, terraform.Refusal{Address: in.Address, Reason: err.Error()})
		default:
			shares = append(shares, s)
		}
	}
	if len(refused) > 0 {
		var b strings.Builder
		for _, r := range refused {
			b.WriteString("\n  " + r.String())
		}
		return fmt.Errorf("%d of %d %s instances cannot be imported, so nothing was written (a partial import would leave Terraform managing the rest):%s",
			len(refused), len(refused)+len(shares), terraform.ResourceType, b.String())
	}
	if len(instances) == 0 {
		return fmt.Errorf("the state holds no %s instance", terraform.ResourceType)
	}
	fmt.Fprintf(os.Stderr, "ecs-shares: a state does not record regions: the shares are taken to be in %s\n", describeRegions(region, aliasRegions))
	if err := out.write(shares); err != nil {
		return err
	}
	return forget(out.dir, instances)
}

func describeRegions(region string, aliasRegions map[string]string) string {
	parts := []string{}
	if region != "" {
		parts = append(parts, region+" (--region)")
	}
	for _, alias := range slices.Sorted(maps.Keys(aliasRegions)) {
		parts = append(parts, aliasRegions[alias]+" for provider alias "+alias)
	}
	return strings.Join(parts, ", ")
}

// forget says, or writes to dir, how to make Terraform forget the
// instances without destroying the shares.
func forget(dir string, instances []terraform.Instance) error {
	const steps = `Once every object is Ready (kubectl get managed -A), make Terraform forget
the shares without destroying them, in one of two ways:
  - terraform state rm, instance by instance (any Terraform version)%s
  - or delete the alicloud_image_share_permission resource blocks and add removed blocks (Terraform 1.7 and later)%s
Then terraform plan must show no destroy.
`
	stateRm, removed := terraform.StateRm(instances), terraform.RemovedBlocks(instances)
	if dir == "" {
		fmt.Fprintf(os.Stderr, "\n"+steps+"\n%s\n%s", ":", ":", stateRm, removed)
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "terraform-state-rm.sh"), []byte("#!/bin/sh\nset -e\n"+stateRm), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "removed.tf"), []byte(removed), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n"+steps, ": "+filepath.Join(dir, "terraform-state-rm.sh"), ": "+filepath.Join(dir, "removed.tf"))
	return nil
}
