package media

// VehicleKey and PersonKey are the ObjectMeta.User keys of the attributes
// an application gives an object (DeepStream's NvDsVehicleObject and
// NvDsPersonObject, which deepstream-test4 fills): a *VehicleAttrs or a
// *PersonAttrs. The message converter writes them into the message's
// object.vehicle or object.person.
const (
	VehicleKey = "vehicle"
	PersonKey  = "person"
)

// VehicleAttrs are a vehicle's attributes (NvDsVehicleObject); Region is
// the licence plate's state or region (the message's licenseState).
type VehicleAttrs struct {
	Type, Make, Model, Color, License, Region string
}

// PersonAttrs are a person's attributes (NvDsPersonObject).
type PersonAttrs struct {
	Age                        int
	Gender, Hair, Cap, Apparel string
}

// SetVehicle gives the object vehicle attributes.
func (o *ObjectMeta) SetVehicle(v *VehicleAttrs) {
	if o.User == nil {
		o.User = map[string]any{}
	}
	o.User[VehicleKey] = v
}

// SetPerson gives the object person attributes.
func (o *ObjectMeta) SetPerson(p *PersonAttrs) {
	if o.User == nil {
		o.User = map[string]any{}
	}
	o.User[PersonKey] = p
}
