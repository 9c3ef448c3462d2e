/*
 * gh_mail_templates: the message of each mail type, as C strings with
 * {{name}} placeholders, and the renderer that fills them.
 *
 * Every template has a subject, a plain-text body and an HTML body. Values
 * are inserted as they are into the subject and the text body, and
 * HTML-escaped into the HTML body (in text and in attribute values alike,
 * since every attribute below is double-quoted). A placeholder without a
 * value is an error rather than an empty string, so a caller that forgot a
 * parameter finds out at enqueue time, not from a customer.
 */
#include <stdio.h>
#include <string.h>

#include "gh_i18n.h"
#include "gh_mail.h"
#include "gh_mail_overrides.h"

struct template
{
    const char *name;
    const char *subject;
    const char *text;
    const char *html;
};

/* The frame of every HTML mail; a catalog's mail body goes inside it with
 * its own lang (HTML_FRAME_TOP, the tag, HTML_FRAME_REST, the body). */
#define HTML_FRAME_TOP "<!DOCTYPE html>\n<html lang=\""
#define HTML_FRAME_REST                                                                            \
    "\">\n"                                                                                        \
    "<head><meta charset=\"utf-8\"><meta name=\"viewport\" "                                       \
    "content=\"width=device-width, initial-scale=1\"></head>\n"                                    \
    "<body style=\"font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; " \
    "color: #1a1a1a; line-height: 1.5; margin: 0; padding: 24px;\">\n"                             \
    "<div style=\"max-width: 560px; margin: 0 auto;\">\n"

#define HTML_OPEN HTML_FRAME_TOP "en" HTML_FRAME_REST

#define HTML_CLOSE "</div>\n</body>\n</html>\n"

#define BUTTON_STYLE                                                                               \
    "display: inline-block; padding: 10px 18px; background: #1f4fd1; color: #ffffff; "             \
    "text-decoration: none; border-radius: 4px;"

#define SMALL_STYLE "font-size: 13px; color: #555555;"

static const char verify_email_text[] =
    "Your verification code is:\n"
    "\n"
    "    {{code}}\n"
    "\n"
    "Enter it on the page that asked for it, or open this link to verify your\n"
    "email address:\n"
    "\n"
    "{{link}}\n"
    "\n"
    "The code and the link expire in {{minutes}} minutes and work once.\n"
    "\n"
    "If you did not ask for this, someone may have typed your address by\n"
    "mistake: you can ignore this message.\n";

static const char verify_email_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Verify your email address</h1>\n"
    "<p>Your verification code is:</p>\n"
    "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 4px; font-family: "
    "monospace;\">{{code}}</p>\n"
    "<p>Enter it on the page that asked for it, or use this link:</p>\n"
    "<p><a href=\"{{link}}\" style=\"" BUTTON_STYLE "\">Verify email address</a></p>\n"
    "<p style=\"" SMALL_STYLE "\">If the button does not work, copy this address into your "
    "browser:<br>{{link}}</p>\n"
    "<p>The code and the link expire in {{minutes}} minutes and work once.</p>\n"
    "<p style=\"" SMALL_STYLE "\">If you did not ask for this, someone may have typed your "
    "address by mistake: you can ignore this message.</p>\n" HTML_CLOSE;

static const char signup_existing_text[] =
    "Someone tried to create a new account with this email address, but it\n"
    "already has an account. Nothing about your account has changed.\n"
    "\n"
    "If it was you, sign in instead:\n"
    "{{signin_link}}\n"
    "\n"
    "Forgot your password? You can reset it here:\n"
    "{{reset_link}}\n"
    "\n"
    "If it was not you, you can ignore this message.\n";

static const char signup_existing_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">You already have an account</h1>\n"
    "<p>Someone tried to create a new account with this email address, but it already has an "
    "account. Nothing about your account has changed.</p>\n"
    "<p>If it was you, sign in instead:</p>\n"
    "<p><a href=\"{{signin_link}}\" style=\"" BUTTON_STYLE "\">Sign in</a></p>\n"
    "<p>Forgot your password? <a href=\"{{reset_link}}\">Reset your password</a>.</p>\n"
    "<p style=\"" SMALL_STYLE "\">If it was not you, you can ignore this message.</p>\n" HTML_CLOSE;

static const char test_text[] =
    "This is a test message from Gatehouse.\n"
    "\n"
    "If you can read it, outgoing mail works: the server reached the mail\n"
    "relay named by GATEHOUSE_SMTP_URL and the relay accepted the message.\n";

static const char test_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Gatehouse test message</h1>\n"
    "<p>This is a test message from Gatehouse.</p>\n"
    "<p>If you can read it, outgoing mail works: the server reached the mail relay named by "
    "<code>GATEHOUSE_SMTP_URL</code> and the relay accepted the message.</p>\n" HTML_CLOSE;

static const char signin_code_text[] =
    "Your sign-in code is:\n"
    "\n"
    "    {{code}}\n"
    "\n"
    "Enter it on the sign-in page, or open this link to sign in:\n"
    "\n"
    "{{link}}\n"
    "\n"
    "The code and the link expire in {{minutes}} minutes and work once.\n"
    "\n"
    "If you did not ask to sign in, you can ignore this message: nobody can\n"
    "sign in without the code.\n";

static const char signin_code_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your sign-in code</h1>\n"
    "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 4px; font-family: "
    "monospace;\">{{code}}</p>\n"
    "<p>Enter it on the sign-in page, or use this link:</p>\n"
    "<p><a href=\"{{link}}\" style=\"" BUTTON_STYLE "\">Sign in</a></p>\n"
    "<p style=\"" SMALL_STYLE "\">If the button does not work, copy this address into your "
    "browser:<br>{{link}}</p>\n"
    "<p>The code and the link expire in {{minutes}} minutes and work once.</p>\n"
    "<p style=\"" SMALL_STYLE "\">If you did not ask to sign in, you can ignore this message: "
    "nobody can sign in without the code.</p>\n" HTML_CLOSE;

static const char security_notice_text[] =
    "A change was made to how you sign in:\n"
    "\n"
    "    {{what}}\n"
    "\n"
    "If you made it, there is nothing to do. If you did not, sign in, review\n"
    "your sign-in methods on your account page and change your password:\n"
    "{{account_link}}\n";

static const char security_notice_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your sign-in methods changed</h1>\n"
    "<p>A change was made to how you sign in:</p>\n"
    "<p><strong>{{what}}</strong></p>\n"
    "<p>If you made it, there is nothing to do. If you did not, review your sign-in methods "
    "and change your password:</p>\n"
    "<p><a href=\"{{account_link}}\" style=\"" BUTTON_STYLE
    "\">Review your account</a></p>\n" HTML_CLOSE;

static const char mfa_locked_text[] =
    "Someone completed the first step of signing in to your account (your\n"
    "password or an emailed code) and then entered {{count}} wrong codes for\n"
    "your second factor.\n"
    "\n"
    "Each further try now needs the first step again. Your passkeys still\n"
    "work as before.\n"
    "\n"
    "If this was not you, someone may know your password: sign in, change\n"
    "it, and review your sign-in methods on your account page:\n"
    "{{account_link}}\n";

static const char mfa_locked_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Wrong codes on your account</h1>\n"
    "<p>Someone completed the first step of signing in to your account (your password or an "
    "emailed code) and then entered {{count}} wrong codes for your second factor.</p>\n"
    "<p>Each further try now needs the first step again. Your passkeys still work as "
    "before.</p>\n"
    "<p>If this was not you, someone may know your password: sign in, change it, and review your "
    "sign-in methods.</p>\n"
    "<p><a href=\"{{account_link}}\" style=\"" BUTTON_STYLE
    "\">Review your account</a></p>\n" HTML_CLOSE;

static const char recovery_code_text[] =
    "Someone asked to reset the password of the account with this address.\n"
    "Your code is:\n"
    "\n"
    "    {{code}}\n"
    "\n"
    "Enter it on the page where you asked, or open this link in the same\n"
    "browser:\n"
    "\n"
    "{{link}}\n"
    "\n"
    "The code and the link expire in {{minutes}} minutes and work once.\n"
    "\n"
    "If you did not ask, you can ignore this message: your password stays as\n"
    "it is, and nobody can reset it without the code.\n";

static const char recovery_code_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Reset your password</h1>\n"
    "<p>Someone asked to reset the password of the account with this address. Your code "
    "is:</p>\n"
    "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 4px; font-family: "
    "monospace;\">{{code}}</p>\n"
    "<p>Enter it on the page where you asked, or use this link in the same browser:</p>\n"
    "<p><a href=\"{{link}}\" style=\"" BUTTON_STYLE "\">Reset password</a></p>\n"
    "<p style=\"" SMALL_STYLE "\">If the button does not work, copy this address into your "
    "browser:<br>{{link}}</p>\n"
    "<p>The code and the link expire in {{minutes}} minutes and work once.</p>\n"
    "<p style=\"" SMALL_STYLE "\">If you did not ask, you can ignore this message: your "
    "password stays as it is, and nobody can reset it without the code.</p>\n" HTML_CLOSE;

#define WASNT_ME_TEXT                                                                              \
    "If this was not you, lock your account now: every device is signed out,\n"                    \
    "nobody can sign in, and you choose a new password. This link works once,\n"                   \
    "for {{days}} days:\n"                                                                         \
    "{{lock_link}}\n"

#define WASNT_ME_HTML                                                                              \
    "<p>If this was not you, lock your account now: every device is signed out, nobody can "       \
    "sign in, and you choose a new password. The link works once, for {{days}} days.</p>\n"        \
    "<p><a href=\"{{lock_link}}\" style=\"" BUTTON_STYLE "\">This wasn't me</a></p>\n"

static const char password_reset_text[] =
    "The password of your account was just reset, and every device that was\n"
    "signed in was signed out. {{factors}}\n"
    "\n"
    "If you did it, there is nothing to do. Review your sign-in methods:\n"
    "{{account_link}}\n"
    "\n" WASNT_ME_TEXT;

static const char password_reset_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your password was reset</h1>\n"
    "<p>The password of your account was just reset, and every device that was signed in was "
    "signed out. {{factors}}</p>\n"
    "<p>If you did it, there is nothing to do: <a href=\"{{account_link}}\">review your sign-in "
    "methods</a>.</p>\n" WASNT_ME_HTML HTML_CLOSE;

static const char new_device_signin_text[] =
    "Your account was just signed in to from a device it has not used before:\n"
    "\n"
    "    {{browser}} on {{os}}\n"
    "    from the network {{network}}\n"
    "    at {{time}}\n"
    "\n"
    "If it was you, there is nothing to do. You can see and end your sessions\n"
    "on your account page:\n"
    "{{account_link}}\n"
    "\n" WASNT_ME_TEXT;

static const char new_device_signin_html[] =
    HTML_OPEN "<h1 style=\"font-size: 20px;\">A sign-in from a new device</h1>\n"
              "<p>Your account was just signed in to from a device it has not used before:</p>\n"
              "<p><strong>{{browser}} on {{os}}</strong><br>from the network {{network}}<br>at "
              "{{time}}</p>\n"
              "<p>If it was you, there is nothing to do. You can see and end your sessions on "
              "<a href=\"{{account_link}}\">your account page</a>.</p>\n" WASNT_ME_HTML HTML_CLOSE;

static const char email_change_code_text[] =
    "Someone signed in to an account asked to use this address for it.\n"
    "Your code is:\n"
    "\n"
    "    {{code}}\n"
    "\n"
    "Enter it on the account page where you asked. It expires in {{minutes}}\n"
    "minutes and works once.\n"
    "\n"
    "If you did not ask, you can ignore this message: the address is not\n"
    "used without the code.\n";

static const char email_change_code_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Confirm your new email address</h1>\n"
    "<p>Someone signed in to an account asked to use this address for it. Your code is:</p>\n"
    "<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 4px; font-family: "
    "monospace;\">{{code}}</p>\n"
    "<p>Enter it on the account page where you asked. It expires in {{minutes}} minutes and "
    "works once.</p>\n"
    "<p style=\"" SMALL_STYLE "\">If you did not ask, you can ignore this message: the address "
    "is not used without the code.</p>\n" HTML_CLOSE;

static const char email_changed_text[] =
    "The email address of your account was just changed to {{new_email}}.\n"
    "Mail about the account goes there from now on.\n"
    "\n"
    "If you did it, there is nothing to do. If you did not, undo the change:\n"
    "this address comes back, every device is signed out, nobody can sign in,\n"
    "and you choose a new password. This link works once, for {{days}} days:\n"
    "{{undo_link}}\n";

static const char email_changed_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your email address was changed</h1>\n"
    "<p>The email address of your account was just changed to {{new_email}}. Mail about the "
    "account goes there from now on.</p>\n"
    "<p>If you did it, there is nothing to do. If you did not, undo the change: this address "
    "comes back, every device is signed out, nobody can sign in, and you choose a new password. "
    "The link works once, for {{days}} days.</p>\n"
    "<p><a href=\"{{undo_link}}\" style=\"" BUTTON_STYLE "\">Undo the change</a></p>\n" HTML_CLOSE;

static const char recovery_waiting_text[] =
    "Someone who proved they can read this mailbox asked to reset the password\n"
    "of your account without any of its sign-in methods (authenticator app,\n"
    "passkey, recovery codes).\n"
    "\n"
    "To protect you, the reset can happen only after {{ends}}. If you sign in\n"
    "before then with any of your sign-in methods, it is cancelled.\n"
    "\n"
    "If this was not you, cancel it now:\n"
    "{{cancel_link}}\n";

static const char recovery_waiting_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">A password reset is waiting</h1>\n"
    "<p>Someone who proved they can read this mailbox asked to reset the password of your "
    "account without any of its sign-in methods (authenticator app, passkey, recovery "
    "codes).</p>\n"
    "<p>To protect you, the reset can happen only after <strong>{{ends}}</strong>. If you sign in "
    "before then with any of your sign-in methods, it is cancelled.</p>\n"
    "<p>If this was not you, cancel it now:</p>\n"
    "<p><a href=\"{{cancel_link}}\" style=\"" BUTTON_STYLE "\">Cancel the reset</a></p>\n"
    "<p style=\"" SMALL_STYLE "\">If the button does not work, copy this address into your "
    "browser:<br>{{cancel_link}}</p>\n" HTML_CLOSE;

static const char recovery_reminder_text[] =
    "Reminder: a reset of your account's password, without any of its sign-in\n"
    "methods, can happen after {{ends}}.\n"
    "\n"
    "If you asked for it, there is nothing to do: come back after that time and\n"
    "choose \"Forgot password?\" again. If this was not you, cancel it now:\n"
    "{{cancel_link}}\n";

static const char recovery_reminder_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your password reset ends soon</h1>\n"
    "<p>A reset of your account's password, without any of its sign-in methods, can happen "
    "after <strong>{{ends}}</strong>.</p>\n"
    "<p>If you asked for it, there is nothing to do: come back after that time and choose "
    "\"Forgot password?\" again. If this was not you, cancel it now:</p>\n"
    "<p><a href=\"{{cancel_link}}\" style=\"" BUTTON_STYLE
    "\">Cancel the reset</a></p>\n" HTML_CLOSE;

static const char recovery_cancelled_text[] =
    "The waiting password reset of your account was cancelled. {{why}}\n"
    "\n"
    "Your password and sign-in methods are unchanged.\n";

static const char recovery_cancelled_html[] =
    HTML_OPEN "<h1 style=\"font-size: 20px;\">Password reset cancelled</h1>\n"
              "<p>The waiting password reset of your account was cancelled. {{why}}</p>\n"
              "<p>Your password and sign-in methods are unchanged.</p>\n" HTML_CLOSE;

static const char password_changed_text[] =
    "The password of your account was just changed. {{others}}\n"
    "\n"
    "If you did it, there is nothing to do. Review your account:\n"
    "{{account_link}}\n"
    "\n" WASNT_ME_TEXT;

static const char password_changed_html[] =
    HTML_OPEN "<h1 style=\"font-size: 20px;\">Your password was changed</h1>\n"
              "<p>The password of your account was just changed. {{others}}</p>\n"
              "<p>If you did it, there is nothing to do: <a href=\"{{account_link}}\">review your "
              "account</a>.</p>\n" WASNT_ME_HTML HTML_CLOSE;

/* No secret: the customer restores by signing in again (issue 18 item 8). */
static const char account_deletion_text[] =
    "Your account was deleted at your request. It has been switched off and\n"
    "every device signed in to it was signed out.\n"
    "\n"
    "It will be erased for good on {{date}}. Until then you can restore it:\n"
    "sign in at {{signin_link}} and choose \"Restore my account\".\n"
    "\n"
    "If you did not ask for this, restore your account now and change your\n"
    "password.\n";

static const char account_deletion_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Your account will be deleted</h1>\n"
    "<p>Your account was deleted at your request. It has been switched off and every device "
    "signed in to it was signed out.</p>\n"
    "<p>It will be erased for good on <strong>{{date}}</strong>. Until then you can restore it: "
    "sign in and choose \"Restore my account\".</p>\n"
    "<p><a href=\"{{signin_link}}\" style=\"" BUTTON_STYLE "\">Sign in to restore</a></p>\n"
    "<p>If you did not ask for this, restore your account now and change your "
    "password.</p>\n" HTML_CLOSE;

static const char password_reset_required_text[] =
    "Your account's administrator asked you to choose a new password. Every\n"
    "device signed in to your account was signed out, and signing in waits\n"
    "until you do.\n"
    "\n"
    "Choose a new password with \"Forgot password?\" on the sign-in page:\n"
    "{{recover_link}}\n";

static const char password_reset_required_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">Choose a new password</h1>\n"
    "<p>Your account's administrator asked you to choose a new password. Every device signed in "
    "to your account was signed out, and signing in waits until you do.</p>\n"
    "<p><a href=\"{{recover_link}}\" style=\"" BUTTON_STYLE
    "\">Choose a new password</a></p>\n" HTML_CLOSE;

static const char org_invitation_text[] =
    "You are invited to join {{organization}}.\n"
    "\n"
    "Accept the invitation here (sign in, or create an account with this email\n"
    "address, if you have none):\n"
    "\n"
    "{{link}}\n"
    "\n"
    "The invitation is good until {{date}}. If you do not know why you got it,\n"
    "ignore this email.\n";

static const char org_invitation_html[] = HTML_OPEN
    "<h1 style=\"font-size: 20px;\">You are invited to join {{organization}}</h1>\n"
    "<p>Accept the invitation: sign in, or create an account with this email address if you "
    "have none.</p>\n"
    "<p><a href=\"{{link}}\" style=\"" BUTTON_STYLE "\">Accept the invitation</a></p>\n"
    "<p>The invitation is good until <strong>{{date}}</strong>. If you do not know why you got "
    "it, ignore this email.</p>\n" HTML_CLOSE;

static const struct template templates[] = {
    {"org_invitation", "You are invited to join an organisation", org_invitation_text,
     org_invitation_html},
    {"password_reset_required", "Choose a new password", password_reset_required_text,
     password_reset_required_html},
    {"account_deletion", "Your account will be deleted", account_deletion_text,
     account_deletion_html},
    {"password_changed", "Your password was changed", password_changed_text, password_changed_html},
    {"recovery_waiting", "A password reset is waiting", recovery_waiting_text,
     recovery_waiting_html},
    {"recovery_reminder", "Your password reset ends soon", recovery_reminder_text,
     recovery_reminder_html},
    {"recovery_cancelled", "Password reset cancelled", recovery_cancelled_text,
     recovery_cancelled_html},
    {"recovery_code", "Reset your password", recovery_code_text, recovery_code_html},
    {"password_reset", "Your password was reset", password_reset_text, password_reset_html},
    {"new_device_signin", "A sign-in from a new device", new_device_signin_text,
     new_device_signin_html},
    {"email_change_code", "Confirm your new email address", email_change_code_text,
     email_change_code_html},
    {"email_changed", "Your email address was changed", email_changed_text, email_changed_html},
    {"signin_code", "Your sign-in code", signin_code_text, signin_code_html},
    {"security_notice", "Your sign-in methods changed", security_notice_text, security_notice_html},
    {"mfa_locked", "Wrong sign-in codes on your account", mfa_locked_text, mfa_locked_html},
    {"verify_email", "Verify your email address", verify_email_text, verify_email_html},
    {"signup_existing", "You already have an account", signup_existing_text, signup_existing_html},
    {"test", "Gatehouse test message", test_text, test_html},
};

static const struct template *find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
        if (strcmp(templates[i].name, name) == 0)
            return &templates[i];
    return NULL;
}

bool gh_mail_template_exists(const char *name)
{
    if (name && strcmp(name, GH_MAIL_TOPIC_TEMPLATE) == 0)
        return true;
    return find(name) != NULL;
}

const char *gh_mail_template_subject(const char *name)
{
    const struct template *t = find(name);
    return t && !strstr(t->subject, "{{") ? t->subject : NULL;
}

static void sb_put_html(gh_strbuf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        gh_strbuf_put(b, s + start, i - start);
        gh_strbuf_put(b, rep, strlen(rep));
        start = i + 1;
    }
    gh_strbuf_put(b, s + start, n - start);
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

char *gh_mail_render_string(gh_arena *a, const char *tmpl, const json_t *params, bool html,
                            char *err, size_t errlen)
{
    gh_strbuf b = {.a = a};
    const char *s = tmpl;
    gh_strbuf_put(&b, "", 0);
    for (;;) {
        const char *open = strstr(s, "{{");
        if (!open) {
            gh_strbuf_put(&b, s, strlen(s));
            break;
        }
        gh_strbuf_put(&b, s, (size_t)(open - s));
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            snprintf(err, errlen, "unterminated placeholder");
            return NULL;
        }
        const char *n0 = open + 2, *n1 = close;
        while (n0 < n1 && *n0 == ' ')
            n0++;
        while (n1 > n0 && n1[-1] == ' ')
            n1--;
        size_t nlen = (size_t)(n1 - n0);
        bool ok = nlen > 0 && nlen < 64;
        for (const char *q = n0; ok && q < n1; q++)
            ok = name_char(*q);
        if (!ok) {
            snprintf(err, errlen, "malformed placeholder");
            return NULL;
        }
        char name[64];
        memcpy(name, n0, nlen);
        name[nlen] = '\0';
        const json_t *v = params ? json_object_get(params, name) : NULL;
        char num[32];
        const char *val;
        size_t vlen;
        if (v && json_is_string(v)) {
            val = json_string_value(v);
            vlen = json_string_length(v);
        } else if (v && json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            val = num;
            vlen = strlen(num);
        } else {
            snprintf(err, errlen, "no string or integer value for {{%s}}", name);
            return NULL;
        }
        if (memchr(val, '\0', vlen)) { /* a JSON "\u0000" would cut the text short */
            snprintf(err, errlen, "the value for {{%s}} holds a NUL character", name);
            return NULL;
        }
        if (html)
            sb_put_html(&b, val, vlen);
        else
            gh_strbuf_put(&b, val, vlen);
        s = close + 2;
    }
    if (b.failed) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return b.buf;
}

/* ---- other languages (docs/i18n.md) ---- */

#define CODE_STYLE                                                                                 \
    "font-size: 28px; font-weight: bold; letter-spacing: 4px; font-family: monospace;"

/* A catalog's HTML body names its looks with a few classes (a translator
 * writes words, not CSS); mail clients drop style sheets, so each becomes the
 * inline style the English templates carry. */
static const char *const mail_classes[][2] = {
    {"<h1>", "<h1 style=\"font-size: 20px;\">"},
    {" class=\"button\"", " style=\"" BUTTON_STYLE "\""},
    {" class=\"small\"", " style=\"" SMALL_STYLE "\""},
    {" class=\"code\"", " style=\"" CODE_STYLE "\""},
};

static char *catalog_html(gh_arena *a, const char *lang, const char *body)
{
    gh_strbuf b = {.a = a};
    gh_strbuf_put(&b, HTML_FRAME_TOP, strlen(HTML_FRAME_TOP));
    gh_strbuf_put(&b, lang, strlen(lang));
    gh_strbuf_put(&b, HTML_FRAME_REST, strlen(HTML_FRAME_REST));
    for (const char *s = body; *s;) {
        size_t k = 0, n = sizeof(mail_classes) / sizeof(mail_classes[0]);
        while (k < n && strncmp(s, mail_classes[k][0], strlen(mail_classes[k][0])) != 0)
            k++;
        if (k < n) {
            gh_strbuf_put(&b, mail_classes[k][1], strlen(mail_classes[k][1]));
            s += strlen(mail_classes[k][0]);
        } else
            gh_strbuf_put(&b, s++, 1);
    }
    gh_strbuf_put(&b, HTML_CLOSE, strlen(HTML_CLOSE));
    return b.failed ? NULL : b.buf;
}

/* "2026-12-09 04:12 UTC" (gh_notices_time) in the catalog's date format,
 * the string "{yyyy}-{mm}-{dd} {HH}:{MM} UTC" of its "strings"; NULL when the
 * value is no such time or the catalog has no format. */
static char *local_time(gh_arena *a, const gh_catalog *cat, const char *v)
{
    static const char shape[] = "dddd-dd-dd dd:dd UTC";
    const char *fmt = gh_catalog_text(cat, "{yyyy}-{mm}-{dd} {HH}:{MM} UTC");
    if (!fmt || strlen(v) != sizeof(shape) - 1)
        return NULL;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != shape[i])
            return NULL;
    static const struct {
        const char *name;
        int at, len;
    } parts[] = {
        {"{yyyy}", 0, 4}, {"{mm}", 5, 2}, {"{dd}", 8, 2}, {"{HH}", 11, 2}, {"{MM}", 14, 2}};
    gh_strbuf b = {.a = a};
    gh_strbuf_put(&b, "", 0);
    for (const char *s = fmt; *s;) {
        size_t k = 0;
        while (k < 5 && strncmp(s, parts[k].name, strlen(parts[k].name)) != 0)
            k++;
        if (k < 5) {
            gh_strbuf_put(&b, v + parts[k].at, (size_t)parts[k].len);
            s += strlen(parts[k].name);
        } else
            gh_strbuf_put(&b, s++, 1);
    }
    return b.failed ? NULL : b.buf;
}

/* params with the prose values callers write in English (a sentence about
 * other devices, what changed) and the times in cat's language. */
static json_t *local_params(gh_arena *a, const gh_catalog *cat, const json_t *params)
{
    json_t *p = json_copy((json_t *)params);
    const char *k;
    json_t *v;
    if (!p)
        return NULL;
    json_object_foreach(p, k, v)
    {
        const char *s = json_string_value(v);
        const char *t = s ? gh_catalog_text(cat, s) : NULL;
        if (!t && s)
            t = local_time(a, cat, s);
        if (t)
            json_string_set(v, t);
    }
    return p;
}

/* The names of the {{placeholders}} of tmpl, space-separated in a (each
 * followed by a space), for comparing two templates' sets. */
static char *placeholder_set(gh_arena *a, const char *tmpl)
{
    gh_strbuf b = {.a = a};
    gh_strbuf_put(&b, " ", 1);
    for (const char *s = strstr(tmpl, "{{"); s; s = strstr(s, "{{")) {
        const char *close = strstr(s + 2, "}}");
        if (!close)
            break;
        char name[72];
        snprintf(name, sizeof(name), " %.*s ", (int)(close - s - 2 > 64 ? 64 : close - s - 2),
                 s + 2);
        if (!strstr(b.buf, name))
            gh_strbuf_put(&b, name + 1, strlen(name) - 1);
        s = close + 2;
    }
    return b.failed ? NULL : b.buf;
}

/* True when every name of set a is in set b. */
static bool set_within(const char *a, const char *b)
{
    for (const char *s = a + 1; *s;) {
        const char *e = strchr(s, ' ');
        char name[72];
        snprintf(name, sizeof(name), " %.*s ", (int)(e - s > 64 ? 64 : e - s), s);
        if (!strstr(b, name))
            return false;
        s = e + 1;
    }
    return true;
}

int gh_mail_catalog_check(const gh_catalog *c, char *err, size_t errlen)
{
    static const char *parts[] = {"subject", "text", "html"};
    const char *name;
    json_t *t;
    if (!c->mail)
        return 0;
    gh_arena *a = gh_arena_new(64 * 1024);
    int rc = a ? 0 : -1;
    if (!a)
        snprintf(err, errlen, "out of memory");
    json_object_foreach((json_t *)c->mail, name, t)
    {
        const struct template *en = find(name);
        if (rc != 0)
            break;
        if (!en) {
            snprintf(err, errlen, "mail \"%.64s\": there is no such template", name);
            rc = -1;
            break;
        }
        const char *en_parts[] = {en->subject, en->text, en->html};
        for (int i = 0; i < 3 && rc == 0; i++) {
            char *want = placeholder_set(a, en_parts[i]);
            char *got = placeholder_set(a, json_string_value(json_object_get(t, parts[i])));
            if (!want || !got) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else if (!set_within(want, got) || !set_within(got, want)) {
                snprintf(err, errlen,
                         "mail \"%.64s\" %s: its placeholders are {{%.200s}}, the English "
                         "template's {{%.200s}}; they must be the same",
                         name, parts[i], got + 1, want + 1);
                rc = -1;
            }
        }
    }
    gh_arena_free(a);
    return rc;
}

/* The template of name in the language params' "_locale" asks for (set by
 * gh_mail_enqueue): English unless a loaded catalog has that mail. */
static const gh_catalog *mail_catalog(const char *name, const json_t *params)
{
    const char *loc = params ? json_string_value(json_object_get(params, "_locale")) : NULL;
    const gh_catalog *cat = loc ? gh_i18n_catalog(gh_i18n_index(loc)) : NULL;
    return cat && gh_catalog_mail(cat, name, "subject") ? cat : NULL;
}

int gh_mail_render(gh_arena *a, const char *template_name, const json_t *params,
                   gh_mail_rendered *out, char *err, size_t errlen)
{
    out->unsubscribe_url = NULL;
    if (template_name && strcmp(template_name, GH_MAIL_TOPIC_TEMPLATE) == 0)
        return gh_mail_topic_render(a, params, out, err, errlen);
    if (gh_mail_override_present(params)) /* the tenant's own (docs/tenants.md) */
        return gh_mail_override_render(a, params, out, err, errlen);
    const struct template *t = find(template_name);
    if (!t) {
        snprintf(err, errlen, "unknown mail template \"%.64s\"",
                 template_name ? template_name : "");
        return -1;
    }
    const gh_catalog *cat = mail_catalog(template_name, params);
    const char *subject = t->subject, *text = t->text, *html = t->html;
    json_t *local = NULL;
    if (cat) {
        subject = gh_catalog_mail(cat, template_name, "subject");
        text = gh_catalog_mail(cat, template_name, "text");
        html = catalog_html(a, cat->tag, gh_catalog_mail(cat, template_name, "html"));
        local = params ? local_params(a, cat, params) : NULL;
        if (!html || (params && !local)) {
            json_decref(local);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        params = local;
    }
    int rc = -1;
    out->subject = gh_mail_render_string(a, subject, params, false, err, errlen);
    if (out->subject)
        out->text = gh_mail_render_string(a, text, params, false, err, errlen);
    if (out->subject && out->text)
        out->html = gh_mail_render_string(a, html, params, true, err, errlen);
    if (out->subject && out->text && out->html)
        rc = 0;
    json_decref(local);
    return rc;
}

/* ---- a tenant's own templates (gh_mail_overrides.h) ---- */

bool gh_mail_template_builtin(const char *name, const char **subject, const char **text)
{
    const struct template *t = find(name);
    if (!t || strcmp(t->name, "test") == 0)
        return false;
    if (subject)
        *subject = t->subject;
    if (text)
        *text = t->text;
    return true;
}

char *gh_mail_html_framed(gh_arena *a, const char *lang, const char *body)
{
    return catalog_html(a, lang, body);
}
