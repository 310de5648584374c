from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConfirmationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIRMATION_MODE_UNSPECIFIED: _ClassVar[ConfirmationMode]
    CONFIRMATION_MODE_SYNCHRONOUS: _ClassVar[ConfirmationMode]
    CONFIRMATION_MODE_ASYNCHRONOUS: _ClassVar[ConfirmationMode]

class BookingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKING_STATUS_UNSPECIFIED: _ClassVar[BookingStatus]
    CONFIRMED: _ClassVar[BookingStatus]
    PENDING_MERCHANT_CONFIRMATION: _ClassVar[BookingStatus]
    CANCELED: _ClassVar[BookingStatus]
    NO_SHOW: _ClassVar[BookingStatus]
    NO_SHOW_PENALIZED: _ClassVar[BookingStatus]
    FAILED: _ClassVar[BookingStatus]
    DECLINED_BY_MERCHANT: _ClassVar[BookingStatus]

class CreditCardType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_CARD_TYPE_UNSPECIFIED: _ClassVar[CreditCardType]
    VISA: _ClassVar[CreditCardType]
    MASTERCARD: _ClassVar[CreditCardType]
    AMERICAN_EXPRESS: _ClassVar[CreditCardType]
    DISCOVER: _ClassVar[CreditCardType]
    JCB: _ClassVar[CreditCardType]

class PrepaymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREPAYMENT_STATUS_UNSPECIFIED: _ClassVar[PrepaymentStatus]
    PREPAYMENT_PROVIDED: _ClassVar[PrepaymentStatus]
    PREPAYMENT_NOT_PROVIDED: _ClassVar[PrepaymentStatus]
    PREPAYMENT_REFUNDED: _ClassVar[PrepaymentStatus]
    PREPAYMENT_CREDITED: _ClassVar[PrepaymentStatus]

class PriceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIXED_RATE_DEFAULT: _ClassVar[PriceType]
    PER_PERSON: _ClassVar[PriceType]

class PaymentOptionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_OPTION_TYPE_UNSPECIFIED: _ClassVar[PaymentOptionType]
    PAYMENT_OPTION_SINGLE_USE: _ClassVar[PaymentOptionType]
    PAYMENT_OPTION_MULTI_USE: _ClassVar[PaymentOptionType]
    PAYMENT_OPTION_UNLIMITED_USE: _ClassVar[PaymentOptionType]
CONFIRMATION_MODE_UNSPECIFIED: ConfirmationMode
CONFIRMATION_MODE_SYNCHRONOUS: ConfirmationMode
CONFIRMATION_MODE_ASYNCHRONOUS: ConfirmationMode
BOOKING_STATUS_UNSPECIFIED: BookingStatus
CONFIRMED: BookingStatus
PENDING_MERCHANT_CONFIRMATION: BookingStatus
CANCELED: BookingStatus
NO_SHOW: BookingStatus
NO_SHOW_PENALIZED: BookingStatus
FAILED: BookingStatus
DECLINED_BY_MERCHANT: BookingStatus
CREDIT_CARD_TYPE_UNSPECIFIED: CreditCardType
VISA: CreditCardType
MASTERCARD: CreditCardType
AMERICAN_EXPRESS: CreditCardType
DISCOVER: CreditCardType
JCB: CreditCardType
PREPAYMENT_STATUS_UNSPECIFIED: PrepaymentStatus
PREPAYMENT_PROVIDED: PrepaymentStatus
PREPAYMENT_NOT_PROVIDED: PrepaymentStatus
PREPAYMENT_REFUNDED: PrepaymentStatus
PREPAYMENT_CREDITED: PrepaymentStatus
FIXED_RATE_DEFAULT: PriceType
PER_PERSON: PriceType
PAYMENT_OPTION_TYPE_UNSPECIFIED: PaymentOptionType
PAYMENT_OPTION_SINGLE_USE: PaymentOptionType
PAYMENT_OPTION_MULTI_USE: PaymentOptionType
PAYMENT_OPTION_UNLIMITED_USE: PaymentOptionType

class BatchAvailabilityLookupRequest(_message.Message):
    __slots__ = ("merchant_id", "slot_time")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_TIME_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    slot_time: _containers.RepeatedCompositeFieldContainer[SlotTime]
    def __init__(self, merchant_id: _Optional[str] = ..., slot_time: _Optional[_Iterable[_Union[SlotTime, _Mapping]]] = ...) -> None: ...

class BatchAvailabilityLookupResponse(_message.Message):
    __slots__ = ("slot_time_availability",)
    SLOT_TIME_AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    slot_time_availability: _containers.RepeatedCompositeFieldContainer[SlotTimeAvailability]
    def __init__(self, slot_time_availability: _Optional[_Iterable[_Union[SlotTimeAvailability, _Mapping]]] = ...) -> None: ...

class SlotTime(_message.Message):
    __slots__ = ("service_id", "start_sec", "duration_sec", "availability_tag", "resource_ids", "confirmation_mode")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    START_SEC_FIELD_NUMBER: _ClassVar[int]
    DURATION_SEC_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_TAG_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_MODE_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    start_sec: int
    duration_sec: int
    availability_tag: str
    resource_ids: ResourceIds
    confirmation_mode: ConfirmationMode
    def __init__(self, service_id: _Optional[str] = ..., start_sec: _Optional[int] = ..., duration_sec: _Optional[int] = ..., availability_tag: _Optional[str] = ..., resource_ids: _Optional[_Union[ResourceIds, _Mapping]] = ..., confirmation_mode: _Optional[_Union[ConfirmationMode, str]] = ...) -> None: ...

class SlotTimeAvailability(_message.Message):
    __slots__ = ("slot_time", "available")
    SLOT_TIME_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    slot_time: SlotTime
    available: bool
    def __init__(self, slot_time: _Optional[_Union[SlotTime, _Mapping]] = ..., available: _Optional[bool] = ...) -> None: ...

class CheckAvailabilityRequest(_message.Message):
    __slots__ = ("slot",)
    SLOT_FIELD_NUMBER: _ClassVar[int]
    slot: Slot
    def __init__(self, slot: _Optional[_Union[Slot, _Mapping]] = ...) -> None: ...

class CheckAvailabilityResponse(_message.Message):
    __slots__ = ("slot", "count_available", "duration_requirement", "availability_update", "last_online_cancellable_sec")
    class DurationRequirement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DURATION_REQUIREMENT_UNSPECIFIED: _ClassVar[CheckAvailabilityResponse.DurationRequirement]
        DO_NOT_SHOW_DURATION: _ClassVar[CheckAvailabilityResponse.DurationRequirement]
        MUST_SHOW_DURATION: _ClassVar[CheckAvailabilityResponse.DurationRequirement]
    DURATION_REQUIREMENT_UNSPECIFIED: CheckAvailabilityResponse.DurationRequirement
    DO_NOT_SHOW_DURATION: CheckAvailabilityResponse.DurationRequirement
    MUST_SHOW_DURATION: CheckAvailabilityResponse.DurationRequirement
    SLOT_FIELD_NUMBER: _ClassVar[int]
    COUNT_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    DURATION_REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_UPDATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ONLINE_CANCELLABLE_SEC_FIELD_NUMBER: _ClassVar[int]
    slot: Slot
    count_available: int
    duration_requirement: CheckAvailabilityResponse.DurationRequirement
    availability_update: AvailabilityUpdate
    last_online_cancellable_sec: int
    def __init__(self, slot: _Optional[_Union[Slot, _Mapping]] = ..., count_available: _Optional[int] = ..., duration_requirement: _Optional[_Union[CheckAvailabilityResponse.DurationRequirement, str]] = ..., availability_update: _Optional[_Union[AvailabilityUpdate, _Mapping]] = ..., last_online_cancellable_sec: _Optional[int] = ...) -> None: ...

class AvailabilityUpdate(_message.Message):
    __slots__ = ("slot_availability",)
    SLOT_AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    slot_availability: _containers.RepeatedCompositeFieldContainer[SlotAvailability]
    def __init__(self, slot_availability: _Optional[_Iterable[_Union[SlotAvailability, _Mapping]]] = ...) -> None: ...

class SlotAvailability(_message.Message):
    __slots__ = ("slot", "count_available")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    COUNT_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    slot: Slot
    count_available: int
    def __init__(self, slot: _Optional[_Union[Slot, _Mapping]] = ..., count_available: _Optional[int] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("merchant_id", "service_id", "start_sec", "duration_sec", "availability_tag", "resources", "confirmation_mode")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    START_SEC_FIELD_NUMBER: _ClassVar[int]
    DURATION_SEC_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_TAG_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_MODE_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    service_id: str
    start_sec: int
    duration_sec: int
    availability_tag: str
    resources: ResourceIds
    confirmation_mode: ConfirmationMode
    def __init__(self, merchant_id: _Optional[str] = ..., service_id: _Optional[str] = ..., start_sec: _Optional[int] = ..., duration_sec: _Optional[int] = ..., availability_tag: _Optional[str] = ..., resources: _Optional[_Union[ResourceIds, _Mapping]] = ..., confirmation_mode: _Optional[_Union[ConfirmationMode, str]] = ...) -> None: ...

class ResourceIds(_message.Message):
    __slots__ = ("staff_id", "room_id", "party_size")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_SIZE_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    room_id: str
    party_size: int
    def __init__(self, staff_id: _Optional[str] = ..., room_id: _Optional[str] = ..., party_size: _Optional[int] = ...) -> None: ...

class Booking(_message.Message):
    __slots__ = ("booking_id", "slot", "user_information", "status", "payment_information", "virtual_session_info", "offer_info")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    USER_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_SESSION_INFO_FIELD_NUMBER: _ClassVar[int]
    OFFER_INFO_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    slot: Slot
    user_information: UserInformation
    status: BookingStatus
    payment_information: PaymentInformation
    virtual_session_info: VirtualSessionInfo
    offer_info: OfferInfo
    def __init__(self, booking_id: _Optional[str] = ..., slot: _Optional[_Union[Slot, _Mapping]] = ..., user_information: _Optional[_Union[UserInformation, _Mapping]] = ..., status: _Optional[_Union[BookingStatus, str]] = ..., payment_information: _Optional[_Union[PaymentInformation, _Mapping]] = ..., virtual_session_info: _Optional[_Union[VirtualSessionInfo, _Mapping]] = ..., offer_info: _Optional[_Union[OfferInfo, _Mapping]] = ...) -> None: ...

class VirtualSessionInfo(_message.Message):
    __slots__ = ("session_url", "meeting_id", "password")
    SESSION_URL_FIELD_NUMBER: _ClassVar[int]
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    session_url: str
    meeting_id: str
    password: str
    def __init__(self, session_url: _Optional[str] = ..., meeting_id: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class OfferInfo(_message.Message):
    __slots__ = ("offer_id",)
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    def __init__(self, offer_id: _Optional[str] = ...) -> None: ...

class UserInformation(_message.Message):
    __slots__ = ("user_id", "given_name", "family_name", "address", "telephone", "email", "language_code")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    GIVEN_NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TELEPHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    given_name: str
    family_name: str
    address: PostalAddress
    telephone: str
    email: str
    language_code: str
    def __init__(self, user_id: _Optional[str] = ..., given_name: _Optional[str] = ..., family_name: _Optional[str] = ..., address: _Optional[_Union[PostalAddress, _Mapping]] = ..., telephone: _Optional[str] = ..., email: _Optional[str] = ..., language_code: _Optional[str] = ...) -> None: ...

class PostalAddress(_message.Message):
    __slots__ = ("country", "locality", "region", "postal_code", "street_address")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    LOCALITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    STREET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    country: str
    locality: str
    region: str
    postal_code: str
    street_address: str
    def __init__(self, country: _Optional[str] = ..., locality: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., street_address: _Optional[str] = ...) -> None: ...

class CreateBookingRequest(_message.Message):
    __slots__ = ("slot", "lease_ref", "user_information", "payment_information", "payment_processing_parameters", "idempotency_token", "additional_request", "deal_id", "offer_id")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    LEASE_REF_FIELD_NUMBER: _ClassVar[int]
    USER_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_PROCESSING_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    slot: Slot
    lease_ref: LeaseReference
    user_information: UserInformation
    payment_information: PaymentInformation
    payment_processing_parameters: PaymentProcessingParameters
    idempotency_token: str
    additional_request: str
    deal_id: str
    offer_id: str
    def __init__(self, slot: _Optional[_Union[Slot, _Mapping]] = ..., lease_ref: _Optional[_Union[LeaseReference, _Mapping]] = ..., user_information: _Optional[_Union[UserInformation, _Mapping]] = ..., payment_information: _Optional[_Union[PaymentInformation, _Mapping]] = ..., payment_processing_parameters: _Optional[_Union[PaymentProcessingParameters, _Mapping]] = ..., idempotency_token: _Optional[str] = ..., additional_request: _Optional[str] = ..., deal_id: _Optional[str] = ..., offer_id: _Optional[str] = ...) -> None: ...

class CreateBookingResponse(_message.Message):
    __slots__ = ("booking", "user_payment_option", "booking_failure")
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    USER_PAYMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    BOOKING_FAILURE_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    user_payment_option: UserPaymentOption
    booking_failure: BookingFailure
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ..., user_payment_option: _Optional[_Union[UserPaymentOption, _Mapping]] = ..., booking_failure: _Optional[_Union[BookingFailure, _Mapping]] = ...) -> None: ...

class UpdateBookingRequest(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class UpdateBookingResponse(_message.Message):
    __slots__ = ("booking", "user_payment_option", "booking_failure")
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    USER_PAYMENT_OPTION_FIELD_NUMBER: _ClassVar[int]
    BOOKING_FAILURE_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    user_payment_option: UserPaymentOption
    booking_failure: BookingFailure
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ..., user_payment_option: _Optional[_Union[UserPaymentOption, _Mapping]] = ..., booking_failure: _Optional[_Union[BookingFailure, _Mapping]] = ...) -> None: ...

class GetBookingStatusRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class GetBookingStatusResponse(_message.Message):
    __slots__ = ("booking_id", "booking_status", "prepayment_status")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_STATUS_FIELD_NUMBER: _ClassVar[int]
    PREPAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    booking_status: BookingStatus
    prepayment_status: PrepaymentStatus
    def __init__(self, booking_id: _Optional[str] = ..., booking_status: _Optional[_Union[BookingStatus, str]] = ..., prepayment_status: _Optional[_Union[PrepaymentStatus, str]] = ...) -> None: ...

class ListBookingsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListBookingsResponse(_message.Message):
    __slots__ = ("bookings",)
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[Booking]
    def __init__(self, bookings: _Optional[_Iterable[_Union[Booking, _Mapping]]] = ...) -> None: ...

class CreateLeaseRequest(_message.Message):
    __slots__ = ("lease",)
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ...) -> None: ...

class CreateLeaseResponse(_message.Message):
    __slots__ = ("lease", "booking_failure")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    BOOKING_FAILURE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    booking_failure: BookingFailure
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ..., booking_failure: _Optional[_Union[BookingFailure, _Mapping]] = ...) -> None: ...

class Lease(_message.Message):
    __slots__ = ("lease_id", "slot", "user_reference", "lease_expiration_time_sec")
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    USER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRATION_TIME_SEC_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    slot: Slot
    user_reference: str
    lease_expiration_time_sec: int
    def __init__(self, lease_id: _Optional[str] = ..., slot: _Optional[_Union[Slot, _Mapping]] = ..., user_reference: _Optional[str] = ..., lease_expiration_time_sec: _Optional[int] = ...) -> None: ...

class LeaseReference(_message.Message):
    __slots__ = ("lease_id",)
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    def __init__(self, lease_id: _Optional[str] = ...) -> None: ...

class BookingFailure(_message.Message):
    __slots__ = ("cause", "rejected_card_type", "description", "payment_failure")
    class Cause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CAUSE_UNSPECIFIED: _ClassVar[BookingFailure.Cause]
        SLOT_UNAVAILABLE: _ClassVar[BookingFailure.Cause]
        SLOT_ALREADY_BOOKED_BY_USER: _ClassVar[BookingFailure.Cause]
        LEASE_EXPIRED: _ClassVar[BookingFailure.Cause]
        OUTSIDE_CANCELLATION_WINDOW: _ClassVar[BookingFailure.Cause]
        PAYMENT_ERROR_CARD_TYPE_REJECTED: _ClassVar[BookingFailure.Cause]
        PAYMENT_ERROR_CARD_DECLINED: _ClassVar[BookingFailure.Cause]
        PAYMENT_OPTION_NOT_VALID: _ClassVar[BookingFailure.Cause]
        PAYMENT_ERROR: _ClassVar[BookingFailure.Cause]
        USER_CANNOT_USE_PAYMENT_OPTION: _ClassVar[BookingFailure.Cause]
        BOOKING_ALREADY_CANCELLED: _ClassVar[BookingFailure.Cause]
        BOOKING_NOT_CANCELLABLE: _ClassVar[BookingFailure.Cause]
        OVERLAPPING_RESERVATION: _ClassVar[BookingFailure.Cause]
        USER_OVER_BOOKING_LIMIT: _ClassVar[BookingFailure.Cause]
        DEAL_UNAVAILABLE: _ClassVar[BookingFailure.Cause]
        PAYMENT_REQUIRES_3DS1: _ClassVar[BookingFailure.Cause]
        OFFER_UNAVAILABLE: _ClassVar[BookingFailure.Cause]
    CAUSE_UNSPECIFIED: BookingFailure.Cause
    SLOT_UNAVAILABLE: BookingFailure.Cause
    SLOT_ALREADY_BOOKED_BY_USER: BookingFailure.Cause
    LEASE_EXPIRED: BookingFailure.Cause
    OUTSIDE_CANCELLATION_WINDOW: BookingFailure.Cause
    PAYMENT_ERROR_CARD_TYPE_REJECTED: BookingFailure.Cause
    PAYMENT_ERROR_CARD_DECLINED: BookingFailure.Cause
    PAYMENT_OPTION_NOT_VALID: BookingFailure.Cause
    PAYMENT_ERROR: BookingFailure.Cause
    USER_CANNOT_USE_PAYMENT_OPTION: BookingFailure.Cause
    BOOKING_ALREADY_CANCELLED: BookingFailure.Cause
    BOOKING_NOT_CANCELLABLE: BookingFailure.Cause
    OVERLAPPING_RESERVATION: BookingFailure.Cause
    USER_OVER_BOOKING_LIMIT: BookingFailure.Cause
    DEAL_UNAVAILABLE: BookingFailure.Cause
    PAYMENT_REQUIRES_3DS1: BookingFailure.Cause
    OFFER_UNAVAILABLE: BookingFailure.Cause
    class PaymentFailureInformation(_message.Message):
        __slots__ = ("threeds1_parameters",)
        class ThreeDS1Parameters(_message.Message):
            __slots__ = ("acs_url", "pa_req", "transaction_id", "md_merchant_data")
            ACS_URL_FIELD_NUMBER: _ClassVar[int]
            PA_REQ_FIELD_NUMBER: _ClassVar[int]
            TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
            MD_MERCHANT_DATA_FIELD_NUMBER: _ClassVar[int]
            acs_url: str
            pa_req: str
            transaction_id: str
            md_merchant_data: str
            def __init__(self, acs_url: _Optional[str] = ..., pa_req: _Optional[str] = ..., transaction_id: _Optional[str] = ..., md_merchant_data: _Optional[str] = ...) -> None: ...
        THREEDS1_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
        threeds1_parameters: BookingFailure.PaymentFailureInformation.ThreeDS1Parameters
        def __init__(self, threeds1_parameters: _Optional[_Union[BookingFailure.PaymentFailureInformation.ThreeDS1Parameters, _Mapping]] = ...) -> None: ...
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FAILURE_FIELD_NUMBER: _ClassVar[int]
    cause: BookingFailure.Cause
    rejected_card_type: CreditCardType
    description: str
    payment_failure: BookingFailure.PaymentFailureInformation
    def __init__(self, cause: _Optional[_Union[BookingFailure.Cause, str]] = ..., rejected_card_type: _Optional[_Union[CreditCardType, str]] = ..., description: _Optional[str] = ..., payment_failure: _Optional[_Union[BookingFailure.PaymentFailureInformation, _Mapping]] = ...) -> None: ...

class ThreeDS1Parameters(_message.Message):
    __slots__ = ("acs_url", "pa_req", "transaction_id", "md_merchant_data")
    ACS_URL_FIELD_NUMBER: _ClassVar[int]
    PA_REQ_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    MD_MERCHANT_DATA_FIELD_NUMBER: _ClassVar[int]
    acs_url: str
    pa_req: str
    transaction_id: str
    md_merchant_data: str
    def __init__(self, acs_url: _Optional[str] = ..., pa_req: _Optional[str] = ..., transaction_id: _Optional[str] = ..., md_merchant_data: _Optional[str] = ...) -> None: ...

class PaymentFailureInformation(_message.Message):
    __slots__ = ("threeds1_parameters",)
    THREEDS1_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    threeds1_parameters: ThreeDS1Parameters
    def __init__(self, threeds1_parameters: _Optional[_Union[ThreeDS1Parameters, _Mapping]] = ...) -> None: ...

class PaymentInformation(_message.Message):
    __slots__ = ("prepayment_status", "payment_transaction_id", "price", "tax_amount", "payment_processed_by", "payment_option_id", "user_payment_option_id", "deposit", "no_show_fee", "fees_and_taxes", "fraud_signals", "pa_response", "md_merchant_data", "fees")
    class PaymentProcessedBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PAYMENT_PROCESSED_BY_UNSPECIFIED: _ClassVar[PaymentInformation.PaymentProcessedBy]
        PROCESSED_BY_GOOGLE: _ClassVar[PaymentInformation.PaymentProcessedBy]
        PROCESSED_BY_PARTNER: _ClassVar[PaymentInformation.PaymentProcessedBy]
    PAYMENT_PROCESSED_BY_UNSPECIFIED: PaymentInformation.PaymentProcessedBy
    PROCESSED_BY_GOOGLE: PaymentInformation.PaymentProcessedBy
    PROCESSED_BY_PARTNER: PaymentInformation.PaymentProcessedBy
    PREPAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    TAX_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_PROCESSED_BY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_OPTION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PAYMENT_OPTION_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    NO_SHOW_FEE_FIELD_NUMBER: _ClassVar[int]
    FEES_AND_TAXES_FIELD_NUMBER: _ClassVar[int]
    FRAUD_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    PA_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    MD_MERCHANT_DATA_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    prepayment_status: PrepaymentStatus
    payment_transaction_id: str
    price: Price
    tax_amount: Price
    payment_processed_by: PaymentInformation.PaymentProcessedBy
    payment_option_id: str
    user_payment_option_id: str
    deposit: Deposit
    no_show_fee: NoShowFee
    fees_and_taxes: Price
    fraud_signals: str
    pa_response: str
    md_merchant_data: str
    fees: Price
    def __init__(self, prepayment_status: _Optional[_Union[PrepaymentStatus, str]] = ..., payment_transaction_id: _Optional[str] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., tax_amount: _Optional[_Union[Price, _Mapping]] = ..., payment_processed_by: _Optional[_Union[PaymentInformation.PaymentProcessedBy, str]] = ..., payment_option_id: _Optional[str] = ..., user_payment_option_id: _Optional[str] = ..., deposit: _Optional[_Union[Deposit, _Mapping]] = ..., no_show_fee: _Optional[_Union[NoShowFee, _Mapping]] = ..., fees_and_taxes: _Optional[_Union[Price, _Mapping]] = ..., fraud_signals: _Optional[str] = ..., pa_response: _Optional[str] = ..., md_merchant_data: _Optional[str] = ..., fees: _Optional[_Union[Price, _Mapping]] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("price_micros", "currency_code", "pricing_option_tag")
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    PRICING_OPTION_TAG_FIELD_NUMBER: _ClassVar[int]
    price_micros: int
    currency_code: str
    pricing_option_tag: str
    def __init__(self, price_micros: _Optional[int] = ..., currency_code: _Optional[str] = ..., pricing_option_tag: _Optional[str] = ...) -> None: ...

class NoShowFee(_message.Message):
    __slots__ = ("fee", "fee_type")
    FEE_FIELD_NUMBER: _ClassVar[int]
    FEE_TYPE_FIELD_NUMBER: _ClassVar[int]
    fee: Price
    fee_type: PriceType
    def __init__(self, fee: _Optional[_Union[Price, _Mapping]] = ..., fee_type: _Optional[_Union[PriceType, str]] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("deposit", "min_advance_cancellation_sec", "deposit_type")
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    MIN_ADVANCE_CANCELLATION_SEC_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    deposit: Price
    min_advance_cancellation_sec: int
    deposit_type: PriceType
    def __init__(self, deposit: _Optional[_Union[Price, _Mapping]] = ..., min_advance_cancellation_sec: _Optional[int] = ..., deposit_type: _Optional[_Union[PriceType, str]] = ...) -> None: ...

class UserPaymentOption(_message.Message):
    __slots__ = ("user_payment_option_id", "valid_start_time_sec", "valid_end_time_sec", "type", "original_count", "current_count", "payment_option_id")
    USER_PAYMENT_OPTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_START_TIME_SEC_FIELD_NUMBER: _ClassVar[int]
    VALID_END_TIME_SEC_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_OPTION_ID_FIELD_NUMBER: _ClassVar[int]
    user_payment_option_id: str
    valid_start_time_sec: int
    valid_end_time_sec: int
    type: PaymentOptionType
    original_count: int
    current_count: int
    payment_option_id: str
    def __init__(self, user_payment_option_id: _Optional[str] = ..., valid_start_time_sec: _Optional[int] = ..., valid_end_time_sec: _Optional[int] = ..., type: _Optional[_Union[PaymentOptionType, str]] = ..., original_count: _Optional[int] = ..., current_count: _Optional[int] = ..., payment_option_id: _Optional[str] = ...) -> None: ...

class PaymentProcessingParameters(_message.Message):
    __slots__ = ("processor", "payment_method_token", "version", "payment_processor", "unparsed_payment_method_token", "tokenization_config")
    class PaymentProcessor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PAYMENT_PROCESSOR_UNSPECIFIED: _ClassVar[PaymentProcessingParameters.PaymentProcessor]
        PROCESSOR_STRIPE: _ClassVar[PaymentProcessingParameters.PaymentProcessor]
        PROCESSOR_BRAINTREE: _ClassVar[PaymentProcessingParameters.PaymentProcessor]
    PAYMENT_PROCESSOR_UNSPECIFIED: PaymentProcessingParameters.PaymentProcessor
    PROCESSOR_STRIPE: PaymentProcessingParameters.PaymentProcessor
    PROCESSOR_BRAINTREE: PaymentProcessingParameters.PaymentProcessor
    PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_PROCESSOR_FIELD_NUMBER: _ClassVar[int]
    UNPARSED_PAYMENT_METHOD_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKENIZATION_CONFIG_FIELD_NUMBER: _ClassVar[int]
    processor: PaymentProcessingParameters.PaymentProcessor
    payment_method_token: str
    version: str
    payment_processor: str
    unparsed_payment_method_token: str
    tokenization_config: TokenizationConfig
    def __init__(self, processor: _Optional[_Union[PaymentProcessingParameters.PaymentProcessor, str]] = ..., payment_method_token: _Optional[str] = ..., version: _Optional[str] = ..., payment_processor: _Optional[str] = ..., unparsed_payment_method_token: _Optional[str] = ..., tokenization_config: _Optional[_Union[TokenizationConfig, _Mapping]] = ...) -> None: ...

class TokenizationConfig(_message.Message):
    __slots__ = ("tokenization_parameter", "billing_information_format", "merchant_of_record_name", "payment_country_code", "card_network_parameters", "allowed_auth_methods")
    class BillingInformationFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BILLING_INFORMATION_FORMAT_UNSPECIFIED: _ClassVar[TokenizationConfig.BillingInformationFormat]
        MIN: _ClassVar[TokenizationConfig.BillingInformationFormat]
        FULL: _ClassVar[TokenizationConfig.BillingInformationFormat]
    BILLING_INFORMATION_FORMAT_UNSPECIFIED: TokenizationConfig.BillingInformationFormat
    MIN: TokenizationConfig.BillingInformationFormat
    FULL: TokenizationConfig.BillingInformationFormat
    class AuthMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        AUTH_METHOD_UNSPECIFIED: _ClassVar[TokenizationConfig.AuthMethod]
        PAN_ONLY: _ClassVar[TokenizationConfig.AuthMethod]
        CRYPTOGRAM_3DS: _ClassVar[TokenizationConfig.AuthMethod]
    AUTH_METHOD_UNSPECIFIED: TokenizationConfig.AuthMethod
    PAN_ONLY: TokenizationConfig.AuthMethod
    CRYPTOGRAM_3DS: TokenizationConfig.AuthMethod
    class TokenizationParameterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TOKENIZATION_PARAMETER_FIELD_NUMBER: _ClassVar[int]
    BILLING_INFORMATION_FORMAT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_OF_RECORD_NAME_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    CARD_NETWORK_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_AUTH_METHODS_FIELD_NUMBER: _ClassVar[int]
    tokenization_parameter: _containers.ScalarMap[str, str]
    billing_information_format: TokenizationConfig.BillingInformationFormat
    merchant_of_record_name: str
    payment_country_code: str
    card_network_parameters: _containers.RepeatedCompositeFieldContainer[CardNetworkParameters]
    allowed_auth_methods: _containers.RepeatedScalarFieldContainer[TokenizationConfig.AuthMethod]
    def __init__(self, tokenization_parameter: _Optional[_Mapping[str, str]] = ..., billing_information_format: _Optional[_Union[TokenizationConfig.BillingInformationFormat, str]] = ..., merchant_of_record_name: _Optional[str] = ..., payment_country_code: _Optional[str] = ..., card_network_parameters: _Optional[_Iterable[_Union[CardNetworkParameters, _Mapping]]] = ..., allowed_auth_methods: _Optional[_Iterable[_Union[TokenizationConfig.AuthMethod, str]]] = ...) -> None: ...

class CardNetworkParameters(_message.Message):
    __slots__ = ("card_network", "acquirer_bin", "acquirer_merchant_id")
    CARD_NETWORK_FIELD_NUMBER: _ClassVar[int]
    ACQUIRER_BIN_FIELD_NUMBER: _ClassVar[int]
    ACQUIRER_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    card_network: CreditCardRestrictions.CreditCardType
    acquirer_bin: str
    acquirer_merchant_id: str
    def __init__(self, card_network: _Optional[_Union[CreditCardRestrictions.CreditCardType, str]] = ..., acquirer_bin: _Optional[str] = ..., acquirer_merchant_id: _Optional[str] = ...) -> None: ...

class CreditCardRestrictions(_message.Message):
    __slots__ = ("credit_card_type",)
    class CreditCardType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CREDIT_CARD_TYPE_UNSPECIFIED: _ClassVar[CreditCardRestrictions.CreditCardType]
        VISA: _ClassVar[CreditCardRestrictions.CreditCardType]
        MASTERCARD: _ClassVar[CreditCardRestrictions.CreditCardType]
        AMERICAN_EXPRESS: _ClassVar[CreditCardRestrictions.CreditCardType]
        DISCOVER: _ClassVar[CreditCardRestrictions.CreditCardType]
        JCB: _ClassVar[CreditCardRestrictions.CreditCardType]
    CREDIT_CARD_TYPE_UNSPECIFIED: CreditCardRestrictions.CreditCardType
    VISA: CreditCardRestrictions.CreditCardType
    MASTERCARD: CreditCardRestrictions.CreditCardType
    AMERICAN_EXPRESS: CreditCardRestrictions.CreditCardType
    DISCOVER: CreditCardRestrictions.CreditCardType
    JCB: CreditCardRestrictions.CreditCardType
    CREDIT_CARD_TYPE_FIELD_NUMBER: _ClassVar[int]
    credit_card_type: _containers.RepeatedScalarFieldContainer[CreditCardRestrictions.CreditCardType]
    def __init__(self, credit_card_type: _Optional[_Iterable[_Union[CreditCardRestrictions.CreditCardType, str]]] = ...) -> None: ...
