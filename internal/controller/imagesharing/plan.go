package imagesharing

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/drift"
)

// image is one image an ImageSharing manages and who has it.
type image struct {
	id      string
	created time.Time
	// shared are the accounts ECS lists for it.
	shared set
	// held are the accounts an ImageSharePermission manages on it, among
	// those the plan would remove.
	held set
	// adopted are the listed accounts that had it before the sharing
	// listed them, and have kept it since; newlyAdopted are those this
	// observation found.
	adopted      set
	newlyAdopted []string
}

// set is a set of account IDs.
type set map[string]bool

func setOf(accounts ...string) set {
	s := make(set, len(accounts))
	for _, a := range accounts {
		s[a] = true
	}
	return s
}

// sorted returns the members of s for which keep holds, in order.
func (s set) sorted(keep func(string) bool) []string {
	var out []string
	for a := range s {
		if keep(a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// wanted is what the spec asks for, and what the last observation recorded
// as listed.
type wanted struct {
	listed set
	// former are accounts the last observation had listed: one no longer
	// listed is unshared, exclusive or not.
	former    set
	exclusive bool
	deleting  bool
}

// change is one image's accounts to add and to remove.
type change struct {
	image       string
	add, remove []string
}

// plan is what a sharing is and what to change.
type plan struct {
	kept, retired []image
	wanted        wanted
	// drifted are the kept images' shares that changed outside the
	// provider since the last observation, as see found them.
	drifted []drift.Shares
}

// see compares the kept images with the last observation. A listed
// account that had an image then and lacks it now, and, if exclusive, an
// unlisted account that has it now and was not there then (nor listed, nor
// held), drifted: see returns those. A listed account that has an image
// already when the sharing first lists it (or first sees the image) is
// adopted; it stays so while it keeps the image.
func (p plan) see(prev common.ImageSharingObservation) []drift.Shares {
	before := map[string]common.SharedImage{}
	for _, img := range prev.Images {
		before[img.ImageID] = img
	}
	w := p.wanted
	var drifted []drift.Shares
	for i := range p.kept {
		img := &p.kept[i]
		was, seen := before[img.id]
		if !seen {
			img.newlyAdopted = img.shared.sorted(func(a string) bool { return w.listed[a] })
			img.adopted = setOf(img.newlyAdopted...)
			continue
		}
		adopted := setOf(was.AdoptedAccounts...)
		img.newlyAdopted = img.shared.sorted(func(a string) bool { return w.listed[a] && !w.former[a] })
		img.adopted = setOf(img.shared.sorted(func(a string) bool { return w.listed[a] && adopted[a] })...)
		for _, a := range img.newlyAdopted {
			img.adopted[a] = true
		}
		d := drift.Shares{Image: img.id}
		had := setOf(was.SharedAccounts...)
		d.Missing = w.listed.sorted(func(a string) bool { return had[a] && !img.shared[a] })
		if w.exclusive {
			unlisted := setOf(was.UnlistedAccounts...)
			d.Unwanted = img.shared.sorted(func(a string) bool {
				return !w.listed[a] && !w.former[a] && !unlisted[a] && !img.held[a]
			})
		}
		if !d.Empty() {
			drifted = append(drifted, d)
		}
	}
	return drifted
}

// corrected are the drifted shares that the changes made put right: those
// not refused.
func (p plan) corrected(refused func(image, account string) bool) []drift.Shares {
	out := make([]drift.Shares, 0, len(p.drifted))
	for _, d := range p.drifted {
		ok := func(a string) bool { return !refused(d.Image, a) }
		c := drift.Shares{Image: d.Image}
		for _, a := range d.Missing {
			if ok(a) {
				c.Missing = append(c.Missing, a)
			}
		}
		for _, a := range d.Unwanted {
			if ok(a) {
				c.Unwanted = append(c.Unwanted, a)
			}
		}
		out = append(out, c)
	}
	return out
}

// removable are the accounts of img the plan unshares, before the held
// ones are spared: the listed and formerly listed ones when deleting or
// retiring a version; the formerly listed ones from a kept image; and, if
// exclusive, the unlisted ones of a kept image and everyone of a retired
// one. Deleting never removes an account not listed: those were never
// ours to share.
func (p plan) removable(img image, retired bool) []string {
	w := p.wanted
	return img.shared.sorted(func(a string) bool {
		ours := w.listed[a] || w.former[a]
		switch {
		case w.deleting:
			return ours
		case retired:
			return ours || w.exclusive
		default:
			return (w.former[a] && !w.listed[a]) || (w.exclusive && !w.listed[a])
		}
	})
}

// changes are the calls to make: adds of listed accounts to kept images
// (none when deleting), and the removals, sparing the held accounts.
func (p plan) changes() []change {
	var out []change
	for i, images := range [][]image{p.kept, p.retired} {
		for _, img := range images {
			c := change{image: img.id}
			if i == 0 && !p.wanted.deleting {
				c.add = p.wanted.listed.sorted(func(a string) bool { return !img.shared[a] })
			}
			for _, a := range p.removable(img, i == 1) {
				if !img.held[a] {
					c.remove = append(c.remove, a)
				}
			}
			if len(c.add)+len(c.remove) > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// applied records that the changes made succeeded: failed says which
// (image, account) changes ECS refused.
func (p plan) applied(changes []change, failed func(image, account string) bool) {
	byID := map[string]*image{}
	for _, images := range [][]image{p.kept, p.retired} {
		for i := range images {
			byID[images[i].id] = &images[i]
		}
	}
	for _, c := range changes {
		img := byID[c.image]
		for _, a := range c.add {
			if !failed(c.image, a) {
				img.shared[a] = true
			}
		}
		for _, a := range c.remove {
			if !failed(c.image, a) {
				delete(img.shared, a)
			}
		}
	}
}

// missing counts the listed accounts each kept image lacks, in all.
func (p plan) missing() int {
	n := 0
	for _, img := range p.kept {
		for a := range p.wanted.listed {
			if !img.shared[a] {
				n++
			}
		}
	}
	return n
}

// extra counts the shares the plan removes from kept images, in all: of
// accounts taken off the list and, if exclusive, of unlisted ones; held
// ones stay, and are not counted.
func (p plan) extra() int {
	n := 0
	for _, img := range p.kept {
		for _, a := range p.removable(img, false) {
			if !img.held[a] {
				n++
			}
		}
	}
	return n
}

// observation is the plan as status reports it. A retired image stays
// until nothing of it is to be removed.
func (p plan) observation() common.ImageSharingObservation {
	var o common.ImageSharingObservation
	w := p.wanted
	for _, img := range p.kept {
		s := common.SharedImage{
			ImageID:          img.id,
			SharedAccounts:   img.shared.sorted(func(a string) bool { return w.listed[a] }),
			MissingAccounts:  w.listed.sorted(func(a string) bool { return !img.shared[a] }),
			UnlistedAccounts: img.shared.sorted(func(a string) bool { return !w.listed[a] }),
			AdoptedAccounts:  img.adopted.sorted(func(a string) bool { return img.shared[a] }),
		}
		if w.exclusive {
			s.HeldAccounts = img.held.sorted(func(a string) bool { return img.shared[a] && !w.listed[a] })
		}
		if !img.created.IsZero() {
			t := metav1.NewTime(img.created)
			s.CreationTime = &t
		}
		o.Images = append(o.Images, s)
	}
	removed := set{}
	for i, images := range [][]image{p.kept, p.retired} {
		for _, img := range images {
			pending := false
			for _, a := range p.removable(img, i == 1) {
				if img.held[a] {
					continue
				}
				pending = true
				if w.former[a] && !w.listed[a] {
					removed[a] = true
				}
			}
			if i == 1 && pending {
				o.RetiredImages = append(o.RetiredImages, img.id)
			}
		}
	}
	o.RemovedAccounts = removed.sorted(func(string) bool { return true })
	return o
}

// maxFormer bounds the accounts read from status as formerly listed:
// twice as many as a list may hold, since a list replaced by another one
// leaves the old one to unshare.
const maxFormer = 2 * common.MaxAccounts

// formerly are the accounts an observation had listed, or was still
// unsharing after they left the list, up to maxFormer.
func formerly(o common.ImageSharingObservation) set {
	s := set{}
	add := func(accounts []string) {
		for _, a := range accounts {
			if len(s) == maxFormer {
				return
			}
			s[a] = true
		}
	}
	add(o.RemovedAccounts)
	for _, img := range o.Images {
		add(img.SharedAccounts)
		add(img.MissingAccounts)
	}
	return s
}
