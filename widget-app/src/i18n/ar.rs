use super::Strings;

/// A counted noun in Arabic's plural forms (CLDR): 1 and 2 are said without the number (the
/// noun's singular and dual), 3–10 take the plural, 11–99 the singular in the accusative, and
/// 0 or 100–102 (and every hundred after) the singular; these follow the number's last two digits.
struct Counted {
    one: &'static str,
    two: &'static str,
    /// After 3–10.
    few: &'static str,
    /// After 11–99.
    many: &'static str,
    /// After 0, 100, 101, 102…
    other: &'static str,
}

impl Counted {
    fn of(&self, n: u64) -> String {
        match (n, n % 100) {
            (1, _) => self.one.to_owned(),
            (2, _) => self.two.to_owned(),
            (_, 3..=10) => format!("{n} {}", self.few),
            (_, 11..=99) => format!("{n} {}", self.many),
            _ => format!("{n} {}", self.other),
        }
    }
}

const UNREAD: Counted = Counted {
    one: "رسالة واحدة غير مقروءة",
    two: "رسالتان غير مقروءتين",
    few: "رسائل غير مقروءة",
    many: "رسالة غير مقروءة",
    other: "رسالة غير مقروءة",
};

/// After "بعد" (in), so in the genitive.
const SECONDS: Counted = Counted {
    one: "ثانية واحدة", two: "ثانيتين", few: "ثوانٍ", many: "ثانية", other: "ثانية"
};

const CHARACTERS: Counted =
    Counted { one: "حرف واحد", two: "حرفان", few: "أحرف", many: "حرفًا", other: "حرف" };

const OTHERS: Counted =
    Counted {
        one: "شخص آخر", two: "شخصان آخران", few: "أشخاص آخرين", many: "شخصًا آخر", other: "شخص آخر"
    };

fn characters(n: usize) -> String {
    CHARACTERS.of(u64::try_from(n).unwrap_or(u64::MAX))
}

pub const AR: Strings = Strings {
    chat: "الدردشة",
    open_chat: "فتح الدردشة",
    close_chat: "إغلاق الدردشة",
    connecting: "جارٍ الاتصال…",
    connected: "متصل",
    reconnecting: "جارٍ إعادة الاتصال…",
    unread: |n| UNREAD.of(n),
    conversations: "المحادثات",
    online: "متصل الآن",
    offline: "غير متصل",
    conversations_elsewhere: |n| format!("المحادثات، {} في محادثات أخرى", UNREAD.of(n)),
    signed_in_as: |name| format!("مسجّل الدخول باسم {name}"),
    your_account: "حسابك",
    sign_out: "تسجيل الخروج",
    loading_conversation: "جارٍ تحميل المحادثة…",
    try_again: "أعد المحاولة",
    no_conversation_yet: "لا توجد محادثة هنا بعد.",
    start_one: "ابدأ محادثة",
    message: "الرسالة",
    write_a_message: "اكتب رسالة…",
    send_message: "إرسال الرسالة",
    two_factor: "المصادقة الثنائية",
    mfa_required_reason: "يتطلب هذا الموقع المصادقة الثنائية لدورك: فعّلها لتبدأ الدردشة.",

    sign_in_to_chat: "سجّل الدخول للدردشة",
    create_an_account: "إنشاء حساب",
    finish_account: "أكمل إنشاء حسابك",
    forgot_your_password: "هل نسيت كلمة المرور؟",
    choose_new_password: "اختر كلمة مرور جديدة",
    reply_time: "نرد عادةً خلال بضع دقائق.",
    email: "البريد الإلكتروني",
    password: "كلمة المرور",
    new_password: "كلمة المرور الجديدة",
    new_password_hint: |min| format!("{} على الأقل. بضع كلمات لا رابط بينها تفي بالغرض.", characters(min)),
    display_name: "الاسم الظاهر",
    recovery_code: "رمز الاسترداد",
    authenticator_code: "الرمز من تطبيق المصادقة",
    please_wait: "يرجى الانتظار…",
    email_me_a_link: "أرسل لي رابطًا بالبريد",
    create_account: "إنشاء الحساب",
    sign_in: "تسجيل الدخول",
    send_me_a_link: "أرسل لي رابطًا",
    change_password: "تغيير كلمة المرور",
    have_an_account: "لديك حساب بالفعل؟",
    new_here: "جديد هنا؟",
    forgot_password: "نسيت كلمة المرور؟",
    use_authenticator: "استخدم تطبيق المصادقة",
    use_recovery_code: "استخدم رمز استرداد",
    back_to_sign_in: "العودة إلى تسجيل الدخول",
    reset_link_sent: "إذا كان هناك حساب يستخدم هذا البريد، فرابط اختيار كلمة مرور جديدة في طريقه إليك. \
                      يعمل لمدة 30 دقيقة.",
    sign_up_link_sent: |to| format!("أرسلنا رابطًا إلى {to}. افتحه خلال 24 ساعة لتختار اسمك وكلمة المرور."),
    password_changed_sign_in: "تم تغيير كلمة المرور. سجّل الدخول بالكلمة الجديدة.",
    sign_in_expired: "انتهت صلاحية تسجيل الدخول هذا. يرجى تسجيل الدخول مجددًا.",
    code_not_right: "هذا الرمز غير صحيح أو سبق استخدامه. جرّب الرمز التالي.",
    link_expired: "انتهت صلاحية هذا الرابط أو سبق استخدامه. اطلب رابطًا جديدًا.",
    no_email_here: "لا تستطيع هذه الدردشة إرسال البريد، لذا هذا غير متاح هنا.",
    try_again_in: |left| format!("أعد المحاولة بعد {}", SECONDS.of(left)),
    too_many_attempts: "محاولات كثيرة جدًا. يرجى الانتظار قليلًا قبل المحاولة مجددًا.",
    sign_in_with: "تسجيل الدخول عبر",
    or: "أو",
    finish_in_window: "أكمل تسجيل الدخول في النافذة التي فُتحت.",
    just_a_moment: "لحظة واحدة، ثم أعد المحاولة.",
    provider_sign_in_expired: "انتهت صلاحية تسجيل الدخول قبل اكتماله. يرجى المحاولة مجددًا.",
    popup_blocked: "حظر متصفحك نافذة تسجيل الدخول. اسمح بالنوافذ المنبثقة لهذه الصفحة وأعد المحاولة.",
    popup_closed: |label| format!("أُغلقت نافذة {label} قبل اكتمال تسجيل الدخول."),

    back_to_conversation: "العودة إلى المحادثة",
    no_conversations_yet: "لا توجد محادثات بعد.",
    new_support_conversation: "محادثة دعم جديدة",
    show_earlier: "عرض الرسائل السابقة",
    no_messages_yet: "لا توجد رسائل بعد. قل مرحبًا!",
    messages: "الرسائل",
    edited: "معدّلة",
    sending: "جارٍ الإرسال…",
    not_sent: "لم تُرسل: ",
    retry: "إعادة المحاولة",
    discard: "تجاهل",
    edit_message: "تعديل الرسالة",
    delete_message: "حذف الرسالة",
    delete_this_message: "حذف هذه الرسالة؟",
    edit: "تعديل",
    delete: "حذف",
    save: "حفظ",
    cancel: "إلغاء",
    you: "أنت",
    message_unavailable: "هذه الرسالة غير متاحة.",
    message_deleted: "حُذفت هذه الرسالة.",
    today: "اليوم",
    yesterday: "أمس",
    seen_by: |names, more| {
        let who = match (names, more) {
            ([one], 0) => (*one).to_owned(),
            ([one, two], 0) => format!("{one} و{two}"),
            ([one, two, three], 0) => format!("{one}، {two} و{three}"),
            _ => format!("{} و{}", names.join("، "), OTHERS.of(more as u64)),
        };
        format!("شاهدها {who}")
    },
    typing: |first, second, more| match (second, more) {
        (Some(second), _) => format!("{first} و{second} يكتبان…"),
        (None, 0) => format!("{first} يكتب…"),
        (None, more) => format!("{first} و{} يكتبون…", OTHERS.of(more as u64)),
    },
    not_open_yet: "لم تُفتح المحادثة بعد.",
    no_crypto: "لا يستطيع هذا المتصفح إنشاء معرّفات الرسائل (window.crypto غير موجود).",
    no_longer_in_room: "لم تعد في هذه الغرفة.",
    could_not_sign_out: |why| format!("تعذّر تسجيل الخروج: {why}"),

    where_signed_in: "أين سجّلت الدخول",
    loading: "جارٍ التحميل…",
    signed_out_of: |device| format!("تم تسجيل الخروج من {device}."),
    already_signed_out: |device| format!("سبق تسجيل الخروج من {device}."),
    this_device: "هذا الجهاز",
    network: |network| format!("الشبكة {network}"),
    last_active: |when| format!("آخر نشاط {when}"),
    end_session_on: |device, details| format!("إنهاء الجلسة على {device} ({details})"),
    end: "إنهاء",
    password_changed_everywhere: "تم تغيير كلمة المرور. سُجّل الخروج من جميع الأجهزة الأخرى.",
    current_password_wrong: "كلمة المرور الحالية غير صحيحة.",
    change_your_password: "غيّر كلمة المرور",
    current_password: "كلمة المرور الحالية",
    account_password_hint: |min| format!("{} على الأقل. سيُسجَّل الخروج من أجهزتك الأخرى.", characters(min)),
    enter_current_password: "أدخل كلمة المرور الحالية.",
    not_current_password: "هذه ليست كلمة المرور الحالية.",
    the_new_password: "كلمة المرور الجديدة",
    mfa_turned_on: "المصادقة الثنائية مفعّلة. سُجّل الخروج من الأجهزة الأخرى.",
    mfa_turned_off: "المصادقة الثنائية معطّلة. سُجّل الخروج من الأجهزة الأخرى.",
    new_codes_made: "رموز استرداد جديدة: لم تعد الرموز القديمة تعمل.",
    copied: "تم النسخ.",
    copy_failed: "تعذّر النسخ: حدّد الرموز بدلًا من ذلك.",
    mfa_off: "معطّلة: كلمة المرور وحدها تكفي لتسجيل دخولك.",
    mfa_on: |left| format!("مفعّلة، بتطبيق مصادقة. رموز الاسترداد المتبقية: {left}."),
    set_up: "إعداد",
    turn_off: "تعطيل",
    new_recovery_codes: "رموز استرداد جديدة",
    scan_hint: "امسح هذا بتطبيق المصادقة، أو اكتب المفتاح أدناه.",
    six_digit_code: "الرمز المكوّن من 6 أرقام الذي يعرضه التطبيق",
    turn_on: "تفعيل",
    your_password: "كلمة المرور",
    make_new_codes: "إنشاء رموز جديدة",
    keep_codes_safe: "احفظ رموز الاسترداد هذه في مكان آمن. كل رمز يسجّل دخولك مرة واحدة دون هاتفك. \
                      لن تظهر إلا الآن.",
    copy: "نسخ",
    download: "تنزيل",
    done: "تم",
    totp_not_right: "هذا الرمز غير صحيح. تحقّق من الوقت على هاتفك وجرّب أحدث رمز.",
    password_not_right: "كلمة المرور هذه غير صحيحة.",
    qr_code: "رمز QR لمفتاح المصادقة",
    key: "المفتاح: ",

    invalid_credentials: "البريد الإلكتروني وكلمة المرور لا يطابقان أي حساب هنا.",
    origin_not_allowed: "الدردشة غير مفعّلة لهذا الموقع.",
    session_ended: "انتهت جلستك. يرجى تسجيل الدخول مجددًا.",
    server_busy: "الدردشة مشغولة جدًا الآن. يرجى المحاولة بعد قليل.",
    forbidden: "غير مسموح لك بفعل ذلك هنا.",
    too_long_to_send: "هذا أطول من أن يُرسل.",
    mfa_enrolment_required: "يتطلب هذا الموقع المصادقة الثنائية لدورك. يرجى إعدادها أولًا.",
    slow_down: |secs| match secs {
        Some(secs) => format!("تمهّل قليلًا: أعد المحاولة بعد {}.", SECONDS.of(secs)),
        None => "تمهّل قليلًا وأعد المحاولة بعد قليل.".to_owned(),
    },
    check_your_input: |what| format!("يرجى التحقق من مدخلاتك: {what}"),
    something_went_wrong: "حدث خطأ ما. يرجى المحاولة مجددًا.",
    consent_denied: |label| format!("أُلغي تسجيل الدخول عبر {label}. لم يتغيّر شيء."),
    sign_up_closed: |label| {
        format!("يقبل هذا الموقع الحسابات الجديدة بالدعوة فقط، وليس لحسابك على {label} حساب هنا بعد.")
    },
    account_disabled: "هذا الحساب معطّل؛ تواصل مع فريق الموقع.",
    provider_unreachable: |label| format!("تعذّر الوصول إلى {label}. يرجى المحاولة بعد قليل."),
    sign_in_not_started_here: "انتهت صلاحية تسجيل الدخول هذا أو لم يبدأ هنا. يرجى المحاولة مجددًا.",
    provider_failed: |label| format!("لم ينجح تسجيل الدخول عبر {label}. يرجى المحاولة مجددًا."),
    // "{field}: …" keeps the sentences right whatever the grammatical gender of the field's name.
    required: |field| format!("يجب إدخال {field}."),
    at_most: |field, max| format!("{field}: {} كحد أقصى.", characters(max)),
    at_least: |field, min| format!("{field}: {} على الأقل.", characters(min)),
    bad_characters: |field| format!("{field}: توجد أحرف غير مسموح بها."),
    email_shape: "أدخل عنوان بريد إلكتروني مثل name@example.com.",
    the_code: "الرمز",
    name: "الاسم",
    server_status: |status| format!("ردّ خادم الدردشة بخطأ ({status}). يرجى المحاولة مجددًا."),
    unreachable: "تعذّر الوصول إلى خادم الدردشة. تحقّق من اتصالك وأعد المحاولة.",
    not_understood: "أرسل خادم الدردشة ردًا لا تفهمه هذه الأداة.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_nouns_take_the_form_of_their_number() {
        let forms: Vec<String> = [1, 2, 3, 10, 11, 99, 100, 102, 103, 111, 1000].map(|n| CHARACTERS.of(n)).into();
        assert_eq!(
            forms,
            [
                "حرف واحد",
                "حرفان",
                "3 أحرف",
                "10 أحرف",
                "11 حرفًا",
                "99 حرفًا",
                "100 حرف",
                "102 حرف",
                "103 أحرف",
                "111 حرفًا",
                "1000 حرف"
            ]
        );
        assert_eq!((AR.typing)("سارة", None, 4), "سارة و4 أشخاص آخرين يكتبون…");
    }
}
