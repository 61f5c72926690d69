package ecssim

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiVersion is the only ECS API version served.
const apiVersion = "2014-05-26"

// maxAccountsPerCall is how many AddAccount.N / RemoveAccount.N entries one
// ModifyImageSharePermission call honours; ECS ignores the rest.
const maxAccountsPerCall = 10

// call is one request, authenticated unless its action is anonymous.
type call struct {
	account string
	caller  credential
	params  url.Values
	now     time.Time
}

type action func(s *Simulator, c call) (answer, *APIError)

var actions = map[string]action{
	"DescribeImageSharePermission": (*Simulator).describeImageSharePermission,
	"ModifyImageSharePermission":   (*Simulator).modifyImageSharePermission,
	"DescribeImages":               (*Simulator).describeImages,
	"DescribeImageFromFamily":      (*Simulator).describeImageFromFamily,
}

// Actions lists the ECS actions the simulator serves.
func Actions() []string {
	return slices.Sorted(maps.Keys(actions))
}

type shareGroup struct {
	Group string `json:"Group"`
}

type sharedAccount struct {
	AliyunID   string `json:"AliyunId"`
	SharedTime string `json:"SharedTime"`
}

// requestMeta is the RequestId every answer carries; the server fills it in.
type requestMeta struct {
	RequestID string `json:"RequestId"`
}

func (m *requestMeta) setRequestID(id string) { m.RequestID = id }

// answer is a successful action's response document; every one carries
// the request id, which is chosen after the action ran.
type answer interface{ setRequestID(id string) }

type describeImageSharePermissionResponse struct {
	requestMeta
	RegionID    string `json:"RegionId"`
	ImageID     string `json:"ImageId"`
	PageNumber  int    `json:"PageNumber"`
	PageSize    int    `json:"PageSize"`
	TotalCount  int    `json:"TotalCount"`
	ShareGroups struct {
		ShareGroup []shareGroup `json:"ShareGroup"`
	} `json:"ShareGroups"`
	Accounts struct {
		Account []sharedAccount `json:"Account"`
	} `json:"Accounts"`
}

// ownImage finds an image the caller owns. Another tenant's image, or one in
// another region, is indistinguishable from a missing one, as on ECS.
func (s *Simulator) ownImage(c call) (*image, *APIError) {
	region, id := c.params.Get("RegionId"), c.params.Get("ImageId")
	if region == "" {
		return nil, errMissing("RegionId")
	}
	if id == "" {
		return nil, errMissing("ImageId")
	}
	im := s.images[imageKey{region, id}]
	if im == nil || im.Owner != c.account {
		return nil, errImageNotFound()
	}
	return im, nil
}

// page reads PageNumber (>= 1, default 1) and PageSize (1..100, default 10)
// and returns the bounds of that page in a list of n items.
func page(p url.Values, n int) (number, size, from, to int, err *APIError) {
	number, size = 1, 10
	if v := p.Get("PageNumber"); v != "" {
		i, e := strconv.Atoi(v)
		if e != nil || i < 1 {
			return 0, 0, 0, 0, errInvalidParam("PageNumber")
		}
		number = i
	}
	if v := p.Get("PageSize"); v != "" {
		i, e := strconv.Atoi(v)
		if e != nil || i < 1 || i > 100 {
			return 0, 0, 0, 0, errInvalidParam("PageSize")
		}
		size = i
	}
	from = min(n, (number-1)*size)
	return number, size, from, min(n, from+size), nil
}

func (s *Simulator) describeImageSharePermission(c call) (answer, *APIError) {
	im, err := s.ownImage(c)
	if err != nil {
		return nil, err
	}
	shares := im.visibleShares(c.now, s.faults.cfg.VisibilityLag.Duration)
	number, size, from, to, err := page(c.params, len(shares))
	if err != nil {
		return nil, err
	}
	resp := &describeImageSharePermissionResponse{
		RegionID: im.Region, ImageID: im.ID, PageNumber: number, PageSize: size, TotalCount: len(shares),
	}
	resp.ShareGroups.ShareGroup = []shareGroup{}
	if im.IsPublic {
		resp.ShareGroups.ShareGroup = append(resp.ShareGroups.ShareGroup, shareGroup{Group: "all"})
	}
	resp.Accounts.Account = []sharedAccount{}
	for _, sh := range shares[from:to] {
		resp.Accounts.Account = append(resp.Accounts.Account,
			sharedAccount{AliyunID: sh.account, SharedTime: sh.sharedTime.Format(timeLayout)})
	}
	return resp, nil
}

// accountList reads prefix.1 .. prefix.10; ECS ignores entries past the tenth.
func accountList(p url.Values, prefix string) []string {
	var out []string
	for i := 1; i <= maxAccountsPerCall; i++ {
		if v := strings.TrimSpace(p.Get(prefix + "." + strconv.Itoa(i))); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// modifyImageSharePermission applies removals, then additions, atomically:
// any invalid account or an exceeded quota changes nothing. Adding an account
// that already has the share, or removing one that has not, succeeds without
// change (the ECS documentation is silent; idempotence is the safe reading).
func (s *Simulator) modifyImageSharePermission(c call) (answer, *APIError) {
	im, err := s.ownImage(c)
	if err != nil {
		return nil, err
	}
	adds, removes := accountList(c.params, "AddAccount"), accountList(c.params, "RemoveAccount")
	var public *bool
	if v := c.params.Get("IsPublic"); v != "" {
		b, e := strconv.ParseBool(v)
		if e != nil {
			return nil, errInvalidParam("IsPublic")
		}
		public = &b
	}
	if (len(adds) > 0 || (public != nil && *public)) && im.Status != StatusAvailable {
		return nil, apiErr(http.StatusForbidden, CodeInvalidImageStatus,
			"The specified image is in status %s and cannot be shared.", im.Status)
	}
	if err := s.checkTargets(c.account, append(slices.Clone(adds), removes...)); err != nil {
		return nil, err
	}
	if err := s.checkEncrypted(im, adds); err != nil {
		return nil, err
	}
	if limit, after := s.maxShares(im), sharesAfter(im, removes, adds); after > limit && after > im.presentShares() {
		return nil, apiErr(http.StatusForbidden, CodeQuotaShareImageUser,
			"The image can be shared with at most %d accounts.", limit)
	}
	for _, a := range removes {
		s.setShare(im, a, false, c.now, false)
	}
	for _, a := range adds {
		s.setShare(im, a, true, c.now, false)
	}
	if public != nil {
		im.IsPublic = *public
	}
	return &requestMeta{}, nil
}

// checkTargets refuses the caller's own account and accounts that do not
// exist, among those a Modify call names.
func (s *Simulator) checkTargets(owner string, accounts []string) *APIError {
	for _, a := range accounts {
		if a == owner {
			return apiErr(http.StatusNotFound, CodeAccountForbidden, "The image cannot be shared with its owner's own account.")
		}
		if !accountIDPattern.MatchString(a) || (!s.seed.AcceptAnyAccount && !s.accounts[a]) {
			return apiErr(http.StatusNotFound, CodeAccountNotFound, "An account in AddAccount or RemoveAccount does not exist.")
		}
	}
	return nil
}

// sharesAfter counts the image's shares once removes, then adds, apply.
func sharesAfter(im *image, removes, adds []string) int {
	final := map[string]bool{}
	for a, sh := range im.shares {
		final[a] = sh.present
	}
	for _, a := range removes {
		final[a] = false
	}
	for _, a := range adds {
		final[a] = true
	}
	n := 0
	for _, present := range final {
		if present {
			n++
		}
	}
	return n
}

type describedImage struct {
	ImageID            string `json:"ImageId"`
	ImageName          string `json:"ImageName"`
	ImageFamily        string `json:"ImageFamily,omitempty"`
	ImageOwnerAlias    string `json:"ImageOwnerAlias"`
	ImageOwnerID       int64  `json:"ImageOwnerId"`
	Status             string `json:"Status"`
	IsPublic           bool   `json:"IsPublic"`
	IsSelfShared       string `json:"IsSelfShared"`
	CreationTime       string `json:"CreationTime"`
	DiskDeviceMappings struct {
		DiskDeviceMapping []diskDeviceMapping `json:"DiskDeviceMapping"`
	} `json:"DiskDeviceMappings"`
}

// diskDeviceMapping is an image's disk; the simulator's images have one,
// the system disk, which is encrypted when the image is.
type diskDeviceMapping struct {
	Device    string `json:"Device"`
	Type      string `json:"Type"`
	Encrypted string `json:"Encrypted"`
}

type describeImagesResponse struct {
	requestMeta
	RegionID   string `json:"RegionId"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	TotalCount int    `json:"TotalCount"`
	Images     struct {
		Image []describedImage `json:"Image"`
	} `json:"Images"`
}

// describeImages serves the filters that tell a missing image from another
// tenant's or a deprecated one: RegionId, ImageId (comma-separated),
// ImageOwnerAlias (self, others; system and marketplace images do not exist
// here), Status (comma-separated; Available when omitted, as on ECS) and
// ImageFamily.
func (s *Simulator) describeImages(c call) (answer, *APIError) {
	region := c.params.Get("RegionId")
	if region == "" {
		return nil, errMissing("RegionId")
	}
	alias := c.params.Get("ImageOwnerAlias")
	switch alias {
	case "", "self", "others", "system", "marketplace":
	default:
		return nil, errInvalidParam("ImageOwnerAlias")
	}
	statuses := splitList(c.params.Get("Status"))
	if len(statuses) == 0 {
		statuses = []string{StatusAvailable}
	}
	ids := splitList(c.params.Get("ImageId"))
	family := c.params.Get("ImageFamily")
	lag := s.faults.cfg.VisibilityLag.Duration

	var found []describedImage
	for k, im := range s.images {
		if k.region != region || !slices.Contains(statuses, im.Status) || (len(ids) > 0 && !slices.Contains(ids, im.ID)) ||
			(family != "" && im.Family != family) {
			continue
		}
		if !im.visibleTo(c.account, c.now, lag) {
			continue
		}
		shares := im.visibleShares(c.now, lag)
		owner := "self"
		if im.Owner != c.account {
			owner = "others"
		}
		if alias != "" && alias != owner {
			continue
		}
		ownerID, _ := strconv.ParseInt(im.Owner, 10, 64)
		selfShared := "False"
		if owner == "self" && len(shares) > 0 {
			selfShared = "True"
		}
		d := describedImage{
			ImageID: im.ID, ImageName: im.Name, ImageFamily: im.Family, ImageOwnerAlias: owner, ImageOwnerID: ownerID,
			Status: im.Status, IsPublic: im.IsPublic, IsSelfShared: selfShared,
			CreationTime: im.CreationTime.UTC().Format(creationTimeLayout),
		}
		d.DiskDeviceMappings.DiskDeviceMapping = []diskDeviceMapping{{Device: "/dev/xvda", Type: "system", Encrypted: strconv.FormatBool(im.Encryption != "")}}
		found = append(found, d)
	}
	slices.SortFunc(found, func(a, b describedImage) int { return strings.Compare(a.ImageID, b.ImageID) })
	number, size, from, to, err := page(c.params, len(found))
	if err != nil {
		return nil, err
	}
	resp := &describeImagesResponse{RegionID: region, PageNumber: number, PageSize: size, TotalCount: len(found)}
	resp.Images.Image = append([]describedImage{}, found[from:to]...)
	return resp, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
